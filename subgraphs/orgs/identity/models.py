"""Tables of the identity features (migration 0004_orgs_identity), in the orgs schema, under RLS."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKeyConstraint,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import TenantMixin, TimestampMixin
from subgraphs.orgs.models import RLS_TABLES, Base


def _user_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE")


class IdentityToken(TenantMixin, TimestampMixin, Base):
    """A one-time token sent by mail (`reset` a password, `verify` an e-mail): only its SHA-256 is kept."""

    __tablename__ = "identity_tokens"
    __table_args__ = (UniqueConstraint("token_hash"), _user_fk())

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(320))  # the address it was sent to
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UserTotp(TenantMixin, TimestampMixin, Base):
    """A user's TOTP secret (sealed); active once `confirmed_at` is set. `last_step`: replay guard."""

    __tablename__ = "user_totp"
    __table_args__ = (_user_fk(),)

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    secret: Mapped[bytes] = mapped_column(LargeBinary)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_step: Mapped[int | None] = mapped_column(BigInteger)


class RecoveryCode(TenantMixin, TimestampMixin, Base):
    __tablename__ = "recovery_codes"
    __table_args__ = (_user_fk(),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


RLS_TABLES.update({"identity_tokens": "tenant_id", "user_totp": "tenant_id", "recovery_codes": "tenant_id"})
