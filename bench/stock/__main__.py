import sys

from bench.stock.run import main

sys.exit(main())
