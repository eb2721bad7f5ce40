"""Identity's own mails (verification, password reset and change, KYC decisions, account
suspension, the phone code) are written in the language each person chose on their
account page: English, or Swahili (issue 20 item 8, Kenya first)."""

from __future__ import annotations

import re
import uuid

import asyncpg

from dracarys.clock import ManualClock
from dracarys.identity import Role, mail
from dracarys.messaging import EmailTemplate, SmsTemplate, list_messages
from dracarys.settings import Settings
from tests.identity.conftest import Client, new_account, staff_account
from tests.identity.test_kyc import PNG, _upload

_PLACEHOLDER = re.compile(r"\$(\w+)")


def _english_templates() -> list[EmailTemplate | SmsTemplate]:
    return [v for v in vars(mail).values() if isinstance(v, EmailTemplate | SmsTemplate)]


def _placeholders(template: EmailTemplate | SmsTemplate) -> dict[str, set[str]]:
    parts = {"text": template.text}
    if isinstance(template, EmailTemplate):
        parts |= {"subject": template.subject, "html": template.html or ""}
    return {part: set(_PLACEHOLDER.findall(text)) for part, text in parts.items()}


def test_every_identity_mail_has_a_swahili_twin_with_the_same_placeholders() -> None:
    english = _english_templates()
    assert len(english) == 7
    for template in english:
        swahili = mail.SWAHILI[template.name]
        assert type(swahili) is type(template), template.name
        assert _placeholders(swahili) == _placeholders(template), template.name
        assert swahili.text != template.text, template.name
    assert mail.in_language(mail.KYC_REJECTED, "en") is mail.KYC_REJECTED
    assert mail.in_language(mail.KYC_REJECTED, "sw") is mail.SWAHILI["kyc_rejected"]


async def _set_language(pool: asyncpg.Pool, user_id: uuid.UUID, language: str) -> None:
    await pool.execute(
        """INSERT INTO user_profiles (user_id, language) VALUES ($1, $2)
           ON CONFLICT (user_id) DO UPDATE SET language = excluded.language""",
        user_id,
        language,
    )


async def _mails(pool: asyncpg.Pool, settings: Settings, user_id: uuid.UUID) -> dict[str, str]:
    async with pool.acquire() as conn:
        found = await list_messages(conn, settings, user_id=user_id, channel="email")
    return {m.template: m.content.subject for m in found if m.content is not None}


async def test_a_swahili_reader_gets_identitys_mails_in_swahili_and_an_english_one_in_english(
    client: Client, pool: asyncpg.Pool, clock: ManualClock, settings: Settings
) -> None:
    swahili, english = await new_account(client), await new_account(client)
    await _set_language(pool, swahili.id, "sw")
    await _set_language(pool, english.id, "en")
    reviewer = await staff_account(client, pool, clock, Role.REVIEWER)
    for account in (swahili, english):
        forgot = await client.post("/api/v1/password/forgot", json={"email": account.email})
        assert forgot.status_code == 202
        document = (await _upload(client, account, PNG)).json()
        rejected = await client.post(
            f"/api/v1/kyc/documents/{document['id']}/reject",
            json={"reason": "The photo is blurred"},
            headers=reviewer.headers,
        )
        assert rejected.status_code == 200, rejected.text

    sw = await _mails(pool, settings, swahili.id)
    assert sw["password_reset"] == "Badilisha nenosiri lako la Dracarys"
    assert sw["kyc_rejected"] == "Hati yako (kitambulisho cha serikali) haikuweza kukubaliwa"
    en = await _mails(pool, settings, english.id)
    assert en["password_reset"] == "Reset your Dracarys password"
    assert en["kyc_rejected"] == "Your government ID could not be accepted"
