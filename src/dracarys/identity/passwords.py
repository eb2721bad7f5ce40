"""Password policy and hashing: argon2id (m=19 MiB, t=2, p=1, the OWASP minimum),
8 to 256 characters, and none of the 3,000+ most common passwords shipped in
`data/common_passwords.txt`. Hashing runs in a thread so it never blocks the loop."""

from __future__ import annotations

import asyncio
import functools
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.low_level import Type
from prometheus_client import Counter

from dracarys.errors import InvalidInput

MIN_LENGTH = 8
MAX_LENGTH = 256
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1

PASSWORD_VERIFICATIONS = Counter(
    "dracarys_password_verifications",
    "argon2id verifications at sign-in: of an account's hash, or of the dummy hash that "
    "an unknown or password-less account costs instead",
    ["against"],
)

HASHER = PasswordHasher(
    time_cost=ARGON2_TIME_COST,
    memory_cost=ARGON2_MEMORY_KIB,
    parallelism=ARGON2_PARALLELISM,
    hash_len=32,
    salt_len=16,
    type=Type.ID,
)


@functools.cache
def common_passwords() -> frozenset[str]:
    text = resources.files("dracarys.identity").joinpath("data/common_passwords.txt").read_text()
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def check_password_policy(password: str, *, email: str = "") -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"use at least {MIN_LENGTH} characters", field="password")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"use at most {MAX_LENGTH} characters", field="password")
    lowered = password.lower()
    if lowered in common_passwords():
        raise InvalidInput(
            "this password is one of the most common ones and is guessed first; choose another",
            field="password",
        )
    local_part = email.partition("@")[0].lower()
    if lowered in {email.lower(), local_part}:
        raise InvalidInput("the password must not be your e-mail address", field="password")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(HASHER.hash, password)


@functools.cache
def dummy_hash() -> str:
    return HASHER.hash("dracarys dummy password for unknown accounts")


async def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when `password` matches. Without a stored hash (unknown account or OAuth-only
    account) a dummy hash with the same parameters is verified instead, so both cases
    cost the same work (counted on `/metrics`, so the equality can be checked)."""
    target = stored_hash or dummy_hash()
    PASSWORD_VERIFICATIONS.labels(against="account" if stored_hash else "dummy").inc()

    def check() -> bool:
        try:
            return HASHER.verify(target, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    matched = await asyncio.to_thread(check)
    return matched and stored_hash is not None


def needs_rehash(stored_hash: str) -> bool:
    return HASHER.check_needs_rehash(stored_hash)
