"""Events of the orgs domain.

Published (stream `ORGS`, subjects `orgs.<tenant>.<event>`), each written to `orgs.outbox` in the
transaction of the change:

- `orgs.organization_created`  data: {id, kind, name, parent_id, external_ref}
- `orgs.user_created`          data: {id, email, display_name}
- `orgs.membership_created`    data: {id, user_id, organization_id, roles}
- `orgs.membership_roles_changed` data: {id, user_id, organization_id, roles, previous_roles}
- `orgs.role_created` / `orgs.role_updated`  data: {id, code, name, scopes}
- `orgs.user_deactivated`      data: {id, session_version}   (gateway: refuse tokens with a lower `sv`)
- `orgs.user_reactivated`      data: {id, session_version}
- `orgs.api_key_created`       data: {id, organization_id, prefix, scopes}
- `orgs.api_key_revoked`       data: {id, organization_id, key_hash}   (gateway: evict its cache entry)
- `orgs.invitation_accepted`   data: {id, user_id, organization_id, roles}

Consumed: none yet.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from shared.events import EventEnvelope
from subgraphs.orgs.models import Membership, Organization, User

DOMAIN = "orgs"
ORGANIZATION_CREATED = "organization_created"
USER_CREATED = "user_created"
MEMBERSHIP_CREATED = "membership_created"


def organization_created(org: Organization) -> EventEnvelope:
    return EventEnvelope.new(
        DOMAIN,
        ORGANIZATION_CREATED,
        tenant_id=org.tenant_id,
        subject_id=org.id,
        data={
            "id": str(org.id),
            "kind": org.kind,
            "name": org.name,
            "parent_id": str(org.parent_id) if org.parent_id else None,
            "external_ref": org.external_ref,
        },
    )


def user_created(user: User) -> EventEnvelope:
    return EventEnvelope.new(
        DOMAIN,
        USER_CREATED,
        tenant_id=user.tenant_id,
        subject_id=user.id,
        data={"id": str(user.id), "email": user.email, "display_name": user.display_name},
    )


def membership_created(membership: Membership) -> EventEnvelope:
    return EventEnvelope.new(
        DOMAIN,
        MEMBERSHIP_CREATED,
        tenant_id=membership.tenant_id,
        subject_id=membership.id,
        data={
            "id": str(membership.id),
            "user_id": str(membership.user_id),
            "organization_id": str(membership.organization_id),
            "roles": list(membership.roles),
        },
    )


def event(name: str, tenant_id: UUID, subject_id: UUID, data: dict[str, Any]) -> EventEnvelope:
    """Any other orgs event (names in the module docstring)."""
    return EventEnvelope.new(DOMAIN, name, tenant_id=tenant_id, subject_id=subject_id, data=data)
