"""Constants of the client-facing protocols: graphql-transport-ws messages and close codes, SSE framing."""

from __future__ import annotations

SUBPROTOCOL = "graphql-transport-ws"

# Close codes of the graphql-ws library's protocol (PROTOCOL.md of enisdenjo/graphql-ws).
CLOSE_INTERNAL_ERROR = 4500
CLOSE_BAD_REQUEST = 4400  # invalid message
CLOSE_UNAUTHORIZED = 4401  # subscribe before connection_ack, or credentials that do not verify
CLOSE_FORBIDDEN = 4403  # credentials refused outright (e.g. a forged gateway context)
CLOSE_SUBPROTOCOL_NOT_ACCEPTABLE = 4406
CLOSE_INIT_TIMEOUT = 4408
CLOSE_DUPLICATE_ID = 4409
CLOSE_TOO_MANY_INIT = 4429
CLOSE_NORMAL = 1000

# The cursor of an event: in the client's subscribe (extensions.cursor) and in every next (extensions.cursor).
CURSOR_EXTENSION = "cursor"
