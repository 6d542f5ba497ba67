"""Password hashing (argon2id, argon2-cffi defaults). Hashing and verifying are slow on purpose, so
they run in a worker thread; unknown users are verified against a dummy hash so that a wrong email
and a wrong password take the same time."""

from __future__ import annotations

import asyncio
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 256

_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("not-a-real-password-only-for-timing")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    """True when `password` matches `stored`; with `stored=None` it costs the same and is False."""
    return await asyncio.to_thread(_verify, stored, password[:MAX_LENGTH])


async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


def password_problem(password: str) -> str | None:
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    return None
