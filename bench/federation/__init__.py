"""The federation gateway benchmark (graphql-hive/graphql-gateways-benchmark scenario)."""
