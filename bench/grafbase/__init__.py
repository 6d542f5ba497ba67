"""grafbase/graphql-federation-benchmarks scenarios (docs/benchmarks.md)."""
