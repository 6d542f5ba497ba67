import sys

from bench.orders.run import main

sys.exit(main())
