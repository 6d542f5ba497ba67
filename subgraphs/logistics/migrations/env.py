from shared.alembic_env import run_migrations
from subgraphs.logistics.models import SCHEMA, Base

run_migrations(schema=SCHEMA, target_metadata=Base.metadata)
