"""Checkout fixtures: the mentorship suite's mentors and funded mentees, the curriculum
suite's course builder, and discount codes bought with points through the points API."""

from __future__ import annotations

import uuid
from typing import Any

from dracarys.platform import Platform
from tests.mentorship import conftest as mentorship_fixtures
from tests.support import AppClient, TestUser, give_points

# The mentorship suite's fixtures, shared: fresh-token headers, mentors, funded mentees.
auth = mentorship_fixtures.auth
make_mentor = mentorship_fixtures.make_mentor
make_mentee = mentorship_fixtures.make_mentee

QUOTE = "/api/v1/checkout/quote"
__all__ = ["auth", "buy_discount_code", "give_points", "make_mentee", "make_mentor", "quote"]


async def buy_discount_code(
    client: AppClient, platform: Platform, headers: dict[str, str], user: TestUser, points: int
) -> str:
    """Points converted to a discount code through `POST /api/v1/wallet/convert-points`."""
    await give_points(platform, user.id, points)
    response = await client.post(
        "/api/v1/wallet/convert-points",
        json={"points": points, "target": "discount", "idempotency_key": f"code-{uuid.uuid4()}"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    code: str = response.json()["discount_code"]
    return code


async def quote(client: AppClient, headers: dict[str, str], **body: Any) -> Any:
    return await client.post(
        QUOTE,
        json={k: str(v) if isinstance(v, uuid.UUID) else v for k, v in body.items()},
        headers=headers,
    )
