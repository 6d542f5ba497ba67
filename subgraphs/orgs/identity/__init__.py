"""Identity features of the orgs subgraph: login throttling, password reset, e-mail verification and
TOTP second factor (docs/identity.md). No GraphQL here except in `gql.py`."""
