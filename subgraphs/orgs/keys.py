"""JWT signing keys: Ed25519 (EdDSA), stored in `orgs.signing_keys` with the private key sealed by
AES-256-GCM under `B2B_ORGS_KEY_ENCRYPTION_KEY` (the kid is the associated data, so a sealed key
cannot be swapped onto another row). The JWKS lists the active key and retired keys until every
token they signed has expired.

CLI (an operator's task, for every tenant at once):

    python -m subgraphs.orgs.keys rotate     # new tokens use a new key; old ones keep verifying
    python -m subgraphs.orgs.keys list
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import sys
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from jwt.algorithms import OKPAlgorithm
from sqlalchemy import or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database, utcnow
from subgraphs.orgs.config import OrgsSettings, get_orgs_settings
from subgraphs.orgs.models import SigningKey

ALG = "EdDSA"
_LOCK = 0x6F726773  # advisory lock id ("orgs"): one key creation/rotation at a time


def _aead(settings: OrgsSettings) -> AESGCM:
    return AESGCM(hashlib.sha256(settings.key_encryption_key.encode()).digest())


def seal(private_pem: bytes, kid: str, settings: OrgsSettings) -> bytes:
    nonce = os.urandom(12)
    return nonce + _aead(settings).encrypt(nonce, private_pem, kid.encode())


def unseal(sealed: bytes, kid: str, settings: OrgsSettings) -> Ed25519PrivateKey:
    try:
        pem = _aead(settings).decrypt(sealed[:12], sealed[12:], kid.encode())
    except InvalidTag as exc:
        raise RuntimeError(f"signing key {kid} cannot be unsealed (B2B_ORGS_KEY_ENCRYPTION_KEY?)") from exc
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def new_key(settings: OrgsSettings) -> SigningKey:
    private = Ed25519PrivateKey.generate()
    kid = f"{utcnow():%Y%m%d}-{secrets.token_hex(6)}"
    jwk: dict[str, Any] = OKPAlgorithm.to_jwk(private.public_key(), as_dict=True)
    jwk.update(kid=kid, use="sig", alg=ALG)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return SigningKey(kid=kid, alg=ALG, public_jwk=jwk, private_key=seal(pem, kid, settings))


async def _lock(session: AsyncSession) -> None:
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})


async def _active(session: AsyncSession) -> SigningKey | None:
    query = select(SigningKey).where(SigningKey.retired_at.is_(None)).order_by(SigningKey.created_at.desc())
    return (await session.scalars(query.limit(1))).first()


async def active_key(session: AsyncSession, settings: OrgsSettings | None = None) -> SigningKey:
    """The key new tokens are signed with; the first call of a fresh deployment creates it."""
    found = await _active(session)
    if found is not None:
        return found
    await _lock(session)
    found = await _active(session)  # another process may have created it while we waited
    if found is None:
        found = new_key(settings or get_orgs_settings())
        session.add(found)
        await session.flush()
    return found


async def rotate(session: AsyncSession, settings: OrgsSettings | None = None) -> SigningKey:
    """Retire the active key(s) and create a new one. Retired keys stay published until the tokens
    they signed have expired (token TTL + grace)."""
    settings = settings or get_orgs_settings()
    await _lock(session)
    now = utcnow()
    keep = timedelta(seconds=settings.token_ttl + settings.jwks_grace)
    await session.execute(
        update(SigningKey)
        .where(SigningKey.retired_at.is_(None))
        .values(retired_at=now, publish_until=now + keep)
    )
    key = new_key(settings)
    session.add(key)
    await session.flush()
    return key


async def published_keys(session: AsyncSession, now: datetime | None = None) -> list[dict[str, Any]]:
    """The public JWKs to serve: the active key and retired ones still within their grace."""
    rows = await session.scalars(
        select(SigningKey)
        .where(or_(SigningKey.publish_until.is_(None), SigningKey.publish_until > (now or utcnow())))
        .order_by(SigningKey.created_at.desc())
    )
    return [dict(row.public_jwk) for row in rows]


def sign(claims: dict[str, Any], key: SigningKey, settings: OrgsSettings | None = None) -> str:
    private = unseal(key.private_key, key.kid, settings or get_orgs_settings())
    return jwt.encode(claims, private, algorithm=key.alg, headers={"kid": key.kid})


# --------------------------------------------------------------------------- CLI


async def _main(argv: list[str]) -> int:
    command = argv[0] if argv else "list"
    db = Database.for_app(name="orgs-keys")
    try:
        async with db.session() as session:
            if command == "rotate":
                key = await rotate(session)
                print(f"new signing key {key.kid}")
            elif command == "list":
                for row in await session.scalars(select(SigningKey).order_by(SigningKey.created_at)):
                    state = "active" if row.retired_at is None else f"published until {row.publish_until}"
                    print(f"{row.kid}  {row.alg}  created {row.created_at:%Y-%m-%d %H:%M}  {state}")
            else:
                print("usage: python -m subgraphs.orgs.keys [list|rotate]", file=sys.stderr)
                return 2
    finally:
        await db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(_main(sys.argv[1:])))
