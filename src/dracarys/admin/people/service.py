"""Finding members and listing mentors to vet, through identity's and the community's
public surfaces.

Names and e-mail addresses are sealed at rest, so the database can match an address only
exactly (by its blind index) and cannot match a name at all; a search is by the full
e-mail address, the member's id, or the start of their community @handle."""

from __future__ import annotations

import re
import uuid

from dracarys.admin.people.models import MatchedBy, MemberFound, MentorToVet
from dracarys.community import handles_starting_with
from dracarys.errors import InvalidInput
from dracarys.identity import (
    Account,
    account_of,
    account_with_email,
    accounts_of,
    display_names,
    mentors_under_vetting,
)
from dracarys.platform import Platform

SEARCH_HINT = (
    "Search by a member's full e-mail address, their id or the start of their @handle."
    " Names are sealed and cannot be searched."
)
HANDLE_QUERY = re.compile(r"@?[A-Za-z0-9_]{1,30}")
MAX_FOUND = 20


async def find_members(platform: Platform, query: str) -> list[MemberFound]:
    """The member whose id or e-mail address is `query`, or the members (up to 20, by
    handle) whose @handle begins with it."""
    text = query.strip()
    found: list[tuple[Account, str | None]] = []
    matched_by: MatchedBy
    async with platform.pool.acquire() as conn:
        if "@" in text and not text.startswith("@"):
            matched_by = "email"
            account = await account_with_email(conn, platform.settings, text)
            found = [(account, None)] if account else []
        elif _is_uuid(text):
            matched_by = "id"
            account = await account_of(conn, uuid.UUID(text))
            found = [(account, None)] if account else []
        elif HANDLE_QUERY.fullmatch(text):
            matched_by = "handle"
            handles = await handles_starting_with(conn, text.removeprefix("@"), limit=MAX_FOUND)
            accounts = await accounts_of(conn, [user_id for user_id, _ in handles])
            found = [(accounts[u], handle) for u, handle in handles if u in accounts]
        else:
            raise InvalidInput(SEARCH_HINT, field="q")
        names = await display_names(conn, platform.settings, [a.id for a, _ in found])
    return [
        MemberFound(
            id=account.id,
            name=names.get(account.id, ""),
            role=account.role.value,
            status=account.status,
            kyc_level=account.kyc_level,
            created_at=account.created_at,
            matched_by=matched_by,
            handle=handle,
        )
        for account, handle in found
    ]


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


async def mentors_to_vet(platform: Platform) -> list[MentorToVet]:
    """Mentors on probation or unverified, longest-standing accounts first."""
    async with platform.pool.acquire() as conn:
        mentors = await mentors_under_vetting(conn)
        names = await display_names(conn, platform.settings, [m.id for m in mentors])
    return [
        MentorToVet(
            id=m.id,
            name=names.get(m.id, ""),
            status=m.status,
            verified=m.verified,
            on_probation=m.on_probation,
            specialties=m.specialties,
            total_sessions=m.total_sessions,
            created_at=m.created_at,
        )
        for m in mentors
    ]
