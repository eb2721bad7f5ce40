"""Issue 20 items 8 and 9: admins edit notification texts as versions (the newest is
delivered, the code's text is version 0), each checked before it is saved; every kind and
channel is written in English and Swahili, and each person gets the language of their
profile."""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import re
import uuid
from datetime import UTC, datetime, timedelta
from string import Template
from typing import Any

import msgspec

import dracarys
from dracarys import points
from dracarys.admin import StaffAlertRaised
from dracarys.clock import ManualClock
from dracarys.community import PostCreated, PostMentioned, PostModerated
from dracarys.curriculum import CertificateGranted
from dracarys.identity import KycApproved, KycRejected, Role, UserRoleChanged
from dracarys.mentorship import (
    PackageClosed,
    PackagePurchased,
    SessionBooked,
    SessionCancelled,
    SessionRated,
    SessionRefunded,
    SessionReminder,
    SessionRescheduled,
)
from dracarys.messaging import EmailTemplate, SmsTemplate, list_messages
from dracarys.notifications import CONSUMED_TOPICS, consumers, release_deferred, send_digests
from dracarys.notifications.chat.events import ChatMessageSent
from dracarys.notifications.templates.catalog import (
    SAMPLES,
    check_text,
    code_text,
    editable,
    placeholders,
    variables_of,
)
from dracarys.notifications.templates.swahili import SWAHILI
from dracarys.notifications.workflows import WORKFLOWS
from dracarys.outbox import Event, EventPayload
from dracarys.platform import Platform
from dracarys.points import (
    POINTS_AWARDED,
    BadgeEarned,
    PointsAwarded,
    PointsClawedBack,
    PointsFrozen,
    TierChanged,
)
from dracarys.points.notifications import AWARD_TEMPLATES
from dracarys.social import AffiliateCommissionAccrued
from dracarys.trading import SignalPublished, SubscriptionLapsed, SubscriptionPastDue
from dracarys.wallet import (
    ChargebackClosed,
    ChargebackOpened,
    DepositCompleted,
    EscrowHeld,
    EscrowReleased,
    PaymentCaptured,
    PayoutCompleted,
    PayoutFailed,
    PayoutNeedsReview,
    RefundIssued,
)
from tests.notifications.conftest import deliver, event_of, set_language, set_timezone
from tests.support import AppClient

TEMPLATES = "/api/v1/admin/notification-templates"
PAYOUT_EMAIL = f"{TEMPLATES}/payout_sent/email/en"


def _payout(user_id: uuid.UUID, amount_minor: int = 5_000) -> PayoutCompleted:
    return PayoutCompleted(
        user_id=user_id,
        payout_id=uuid.uuid4(),
        amount_minor=amount_minor,
        currency="KES",
        method="mpesa",
    )


async def _emails(platform: Platform, user_id: uuid.UUID) -> list[tuple[str, str]]:
    async with platform.pool.acquire() as conn:
        found = await list_messages(conn, platform.settings, user_id=user_id, channel="email")
    return [(m.content.subject, m.content.text) for m in found if m.content is not None]


async def _inbox(client: AppClient, user: Any) -> list[tuple[str, str]]:
    page = (await client.get("/api/v1/notifications", headers=user.headers)).json()
    return [(item["title"], item["body"]) for item in page["items"]]


def test_every_kind_and_channel_is_written_in_english_and_swahili_with_the_same_variables() -> None:
    texts = editable()
    pairs = {(kind, channel) for kind, channel, _ in texts}
    assert len(pairs) >= 25  # every workflow's in-app text, and its e-mail and SMS ones
    assert set(SWAHILI) == pairs  # no Swahili text for a channel the kind does not send
    for kind, channel in sorted(pairs):
        english = code_text(kind, channel, "en")
        swahili = code_text(kind, channel, "sw")
        assert english is not None, (kind, channel)
        assert swahili is not None, (kind, channel)
        assert placeholders(f"{swahili.subject or ''}\n{swahili.body}") == placeholders(
            f"{english.subject or ''}\n{english.body}"
        ), (kind, channel)
        # Translated, unless the text is one value another domain words (points, moderation).
        whole_value = re.fullmatch(r"\$\w+", swahili.body)
        assert swahili.body != english.body or whole_value, (kind, channel)
        # The built-in texts pass the checks an admin's text must pass.
        for text in (english, swahili):
            assert check_text(kind, channel, text.subject, text.body) == [], (kind, channel)
        # Previews have a sample for every value the kind provides.
        assert variables_of(kind, channel) - {"base_url"} <= set(SAMPLES[kind]), kind


async def test_a_text_with_an_unknown_or_malformed_placeholder_or_without_a_required_one_is_refused_naming_it(  # noqa: E501
    client: AppClient, platform: Platform, make_user
) -> None:
    admin = await make_user(role=Role.ADMIN)
    footer = "\n\n$base_url/notifications/preferences"
    cases = [
        (
            {"subject": "Sent: $amout", "body": f"$amount is on its way.{footer}"},
            "subject",
            "$amout",
        ),
        ({"subject": "Sent", "body": f"$amount costs 5 $ today.{footer}"}, "body", "$$"),
        ({"subject": "Sent", "body": f"Your withdrawal is on its way.{footer}"}, "body", "$amount"),
        ({"subject": "Sent: $amount", "body": "$amount is on its way."}, "body", "$base_url"),
        ({"subject": "", "body": f"$amount is on its way.{footer}"}, "subject", "subject"),
    ]
    for body, field, named in cases:
        refused = await client.post(f"{PAYOUT_EMAIL}/versions", json=body, headers=admin.headers)
        assert refused.status_code == 422, body
        problem = refused.json()
        assert any(e["field"] == field and named in e["message"] for e in problem["errors"]), (
            problem
        )
    # The preview shows the same problems without refusing, and fills what it can.
    preview = await client.post(
        f"{PAYOUT_EMAIL}/preview",
        json={"subject": "Sent: $amout", "body": f"$amount via $method.{footer}"},
        headers=admin.headers,
    )
    assert preview.status_code == 200
    shown = preview.json()
    assert shown["subject"] == "Sent: $amout"
    assert shown["body"].startswith("KES 12,000.00 via mpesa.")
    assert [e["field"] for e in shown["problems"]] == ["subject"]
    # Nothing was saved.
    detail = (await client.get(PAYOUT_EMAIL, headers=admin.headers)).json()
    assert detail["version"] == 0
    assert [v["version"] for v in detail["versions"]] == [0]
    assert "amount" in detail["variables"]
    assert "method" in detail["variables"]
    # An SMS has no subject; a kind or language there is not is a 404.
    sms = await client.post(
        f"{TEMPLATES}/payout_sent/sms/en/versions",
        json={"subject": "Hi", "body": "$amount sent."},
        headers=admin.headers,
    )
    assert sms.status_code == 422
    assert sms.json()["errors"][0]["field"] == "subject"
    for path in ("nope/email/en", "payout_sent/email/fr", "session_reminder/email/en"):
        assert (await client.get(f"{TEMPLATES}/{path}", headers=admin.headers)).status_code == 404


async def test_a_saved_version_is_delivered_next_audited_and_a_revert_brings_back_an_earlier_one(
    client: AppClient, platform: Platform, make_user, clock: ManualClock
) -> None:
    admin, member = await make_user(role=Role.ADMIN), await make_user()
    first = {
        "subject": "Cash out: $amount",
        "body": "We sent $amount to your $method.\n\nSettings: $base_url/notifications/preferences",
    }
    saved = await client.post(f"{PAYOUT_EMAIL}/versions", json=first, headers=admin.headers)
    assert saved.status_code == 201, saved.text
    assert saved.json()["version"] == 1
    in_app = {"subject": "Paid out $amount", "body": "$amount left for $method."}
    assert (
        await client.post(
            f"{TEMPLATES}/payout_sent/in_app/en/versions", json=in_app, headers=admin.headers
        )
    ).status_code == 201

    await deliver(platform, [event_of(platform, _payout(member.id, 5_000))])
    [(subject, text)] = await _emails(platform, member.id)
    assert subject == "Cash out: KES 50.00"
    assert text.startswith("We sent KES 50.00 to your mpesa.")
    assert await _inbox(client, member) == [("Paid out KES 50.00", "KES 50.00 left for mpesa.")]

    # A second version, then back to the code's text (version 0), then to version 1.
    second = {**first, "subject": "Withdrawn: $amount"}
    assert (
        await client.post(f"{PAYOUT_EMAIL}/versions", json=second, headers=admin.headers)
    ).json()["version"] == 2
    back = await client.post(f"{PAYOUT_EMAIL}/revert", json={"version": 0}, headers=admin.headers)
    assert back.status_code == 201
    assert back.json()["version"] == 3
    assert back.json()["subject"] == "Withdrawal sent: $amount"
    clock.advance(timedelta(minutes=1))  # the e-mails are listed oldest first
    await deliver(platform, [event_of(platform, _payout(member.id, 7_000))])
    assert (await _emails(platform, member.id))[-1][0] == "Withdrawal sent: KES 70.00"

    again = await client.post(f"{PAYOUT_EMAIL}/revert", json={"version": 1}, headers=admin.headers)
    history = again.json()
    assert history["version"] == 4
    assert history["subject"] == "Cash out: $amount"
    assert [(v["version"], v["reverted_from"], v["active"]) for v in history["versions"]] == [
        (4, 1, True),
        (3, 0, False),
        (2, None, False),
        (1, None, False),
        (0, None, False),
    ]
    clock.advance(timedelta(minutes=1))
    await deliver(platform, [event_of(platform, _payout(member.id, 9_000))])
    assert (await _emails(platform, member.id))[-1][0] == "Cash out: KES 90.00"
    missing = await client.post(
        f"{PAYOUT_EMAIL}/revert", json={"version": 9}, headers=admin.headers
    )
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["field"] == "version"

    audit = await platform.pool.fetch(
        """SELECT actor_id, action, target, details->>'version' AS version FROM audit_log
           WHERE action LIKE 'notification_template.%' ORDER BY position"""
    )
    assert [(r["actor_id"], r["action"], r["target"], r["version"]) for r in audit] == [
        (
            admin.id,
            "notification_template.saved",
            "notification_template:payout_sent/email/en",
            "1",
        ),
        (
            admin.id,
            "notification_template.saved",
            "notification_template:payout_sent/in_app/en",
            "1",
        ),
        (
            admin.id,
            "notification_template.saved",
            "notification_template:payout_sent/email/en",
            "2",
        ),
        (
            admin.id,
            "notification_template.reverted",
            "notification_template:payout_sent/email/en",
            "3",
        ),
        (
            admin.id,
            "notification_template.reverted",
            "notification_template:payout_sent/email/en",
            "4",
        ),
    ]
    listed = (await client.get(TEMPLATES, headers=admin.headers)).json()
    row = next(
        t
        for t in listed
        if (t["kind"], t["channel"], t["language"]) == ("payout_sent", "email", "en")
    )
    assert row["version"] == 4
    assert row["subject"] == "Cash out: $amount"


async def test_a_swahili_speaker_gets_swahili_and_an_english_speaker_english(
    client: AppClient, platform: Platform, make_user
) -> None:
    admin, swahili, english = await make_user(role=Role.ADMIN), await make_user(), await make_user()
    for user in (swahili, english):  # a profile, as sign-up makes one
        await set_timezone(platform.pool, user.id, "Africa/Nairobi")
    chose = await client.patch(
        f"/api/v1/users/{swahili.id}/profile", json={"language": "sw"}, headers=swahili.headers
    )
    assert chose.status_code == 200, chose.text
    assert chose.json()["language"] == "sw"
    refused = await client.patch(
        f"/api/v1/users/{english.id}/profile", json={"language": "fr"}, headers=english.headers
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "language"

    await deliver(
        platform, [event_of(platform, _payout(swahili.id)), event_of(platform, _payout(english.id))]
    )

    assert await _inbox(client, swahili) == [
        (
            "Pesa zimetumwa: KES 50.00",
            "Pesa ulizotoa, KES 50.00 kupitia mpesa, ziko njiani kukufikia.",
        )
    ]
    [(subject, text)] = await _emails(platform, swahili.id)
    assert subject == "Pesa zimetumwa: KES 50.00"
    assert "Chagua tunachokutumia:" in text
    assert await _inbox(client, english) == [
        ("Withdrawal sent: KES 50.00", "Your withdrawal of KES 50.00 by mpesa is on its way.")
    ]
    # An admin's Swahili version reaches the Swahili speaker only.
    sw_version = {"subject": "Pesa zako njiani: $amount", "body": "Tumetuma $amount."}
    assert (
        await client.post(
            f"{TEMPLATES}/payout_sent/in_app/sw/versions", json=sw_version, headers=admin.headers
        )
    ).status_code == 201
    await deliver(
        platform,
        [
            event_of(platform, _payout(swahili.id, 6_000)),
            event_of(platform, _payout(english.id, 6_000)),
        ],
    )
    assert ("Pesa zako njiani: KES 60.00", "Tumetuma KES 60.00.") in await _inbox(client, swahili)
    assert "Withdrawal sent: KES 60.00" in [title for title, _ in await _inbox(client, english)]


async def test_concurrent_saves_of_one_text_make_distinct_versions(
    client: AppClient, platform: Platform, make_user
) -> None:
    admin = await make_user(role=Role.ADMIN)
    path = f"{TEMPLATES}/tier_reached/in_app/sw/versions"

    async def save(n: int) -> Any:
        body = {"subject": f"Kiwango kipya {n}: $tier", "body": f"{n}: $tier"}
        return await client.post(path, json=body, headers=admin.headers)

    answers = await asyncio.gather(*(save(n) for n in range(12)))
    assert [a.status_code for a in answers] == [201] * 12
    rows = await platform.pool.fetch(
        """SELECT version, body FROM notification_templates
           WHERE kind = 'tier_reached' AND channel = 'in_app' AND language = 'sw'"""
    )
    assert sorted(r["version"] for r in rows) == list(range(1, 13))
    assert sorted(r["body"] for r in rows) == sorted(f"{n}: $tier" for n in range(12))


async def test_only_admins_see_or_edit_templates(
    client: AppClient, make_user, clock: ManualClock
) -> None:
    for role in (Role.MENTEE, Role.MENTOR, Role.REVIEWER):
        user = await make_user(role=role)
        assert (await client.get(TEMPLATES, headers=user.headers)).status_code == 403
        assert (
            await client.post(
                f"{PAYOUT_EMAIL}/versions",
                json={"subject": "x $amount", "body": "$amount $base_url"},
                headers=user.headers,
            )
        ).status_code == 403


async def test_an_email_held_through_quiet_hours_goes_in_the_persons_language_as_saved_when_it_leaves(  # noqa: E501
    client: AppClient, platform: Platform, make_user, clock: ManualClock
) -> None:
    # 23:00 in Nairobi; quiet from 22:00 to 07:00 local (04:00 UTC).
    clock.set(datetime(2026, 12, 4, 20, 0, tzinfo=UTC))
    admin, user = await make_user(role=Role.ADMIN), await make_user()
    await set_timezone(platform.pool, user.id, "Africa/Nairobi")
    await platform.pool.execute(
        "UPDATE user_profiles SET language = 'sw' WHERE user_id = $1", user.id
    )
    await platform.pool.execute(
        """INSERT INTO notification_quiet_hours (user_id, starts_at, ends_at, updated_at)
           VALUES ($1, '22:00', '07:00', now())""",
        user.id,
    )
    booked = SessionBooked(
        session_id=uuid.uuid4(),
        booking_id=uuid.uuid4(),
        mentee_id=user.id,
        mentor_id=(await make_user()).id,
        starts_at=clock.now() + timedelta(days=3),
    )
    await deliver(platform, [event_of(platform, booked)])
    assert await _emails(platform, user.id) == []
    # Saved while the e-mail waits: the version it leaves with is the one sent.
    saved = await client.post(
        f"{TEMPLATES}/session_booked/email/sw/versions",
        json={
            "subject": "Kipindi chako kimethibitishwa",
            "body": "Tukutane $starts_at.\n\n$base_url/notifications/preferences",
        },
        headers=admin.headers,
    )
    assert saved.status_code == 201, saved.text

    clock.set(datetime(2026, 12, 5, 4, 0, tzinfo=UTC))
    assert await release_deferred(platform) == 1
    [(subject, text)] = await _emails(platform, user.id)
    assert subject == "Kipindi chako kimethibitishwa"
    assert text.startswith("Tukutane Jumatatu, 7 Desemba 2026, 20:00 UTC.")


async def test_a_swahili_speakers_daily_digest_is_in_swahili_with_swahili_items(
    platform: Platform, make_user, clock: ManualClock
) -> None:
    clock.set(datetime(2026, 12, 4, 9, 0, tzinfo=UTC))
    mentor, follower = await make_user(), await make_user()
    await set_timezone(platform.pool, follower.id, "UTC")
    await platform.pool.execute(
        "UPDATE user_profiles SET language = 'sw' WHERE user_id = $1", follower.id
    )
    await platform.pool.execute(
        """INSERT INTO signal_subscriptions (id, subscriber_id, mentor_id,
               monthly_price_minor, currency, status, billing_status, started_at)
           VALUES ($1, $2, $3, 0, 'USD', 'active', 'free', now())""",
        uuid.uuid4(),
        follower.id,
        mentor.id,
    )
    signal = SignalPublished(
        signal_id=str(uuid.uuid4()),
        mentor_id=str(mentor.id),
        symbol="EURUSD",
        side="buy",
        corrects_id=None,
    )
    await deliver(platform, [event_of(platform, signal)])
    assert await send_digests(platform) == 1

    [(subject, text)] = await _emails(platform, follower.id)
    assert subject == "Muhtasari wako wa Dracarys: taarifa 1"
    assert "- Ishara mpya: EURUSD BUY: " in text
    assert "ametoa ishara ya BUY kwa EURUSD." in text


# ---- Swahili completeness (issue 20 item 8) ---------------------------------------------


def _message_templates() -> dict[str, list[EmailTemplate | SmsTemplate]]:
    """Every e-mail and SMS template the code defines (module level, or in a module-level
    table), by name, each distinct text once."""
    found: dict[str, list[EmailTemplate | SmsTemplate]] = {}

    def visit(value: object, depth: int) -> None:
        if isinstance(value, EmailTemplate | SmsTemplate):
            same = found.setdefault(value.name, [])
            if value not in same:
                same.append(value)
        elif depth < 2 and isinstance(value, dict):
            for inner in value.values():
                visit(inner, depth + 1)
        elif depth < 2 and isinstance(value, list | tuple):
            for inner in value:
                visit(inner, depth + 1)

    for module_info in pkgutil.walk_packages(dracarys.__path__, "dracarys."):
        for value in vars(importlib.import_module(module_info.name)).values():
            visit(value, 0)
    return found


def _parts(template: EmailTemplate | SmsTemplate) -> dict[str, set[str]]:
    texts = {"text": template.text}
    if isinstance(template, EmailTemplate):
        texts |= {"subject": template.subject, "html": template.html or ""}
    return {part: placeholders(text) for part, text in texts.items()}


def test_every_email_and_sms_the_code_sends_has_a_swahili_twin_with_the_same_placeholders() -> None:
    """A template written in English only fails here: each name needs a second text (its
    Swahili twin keeps the name, as messages are listed by it) with the same values.
    The notifications' own texts (`notify.*`) are held to this by the test above."""
    found = _message_templates()
    assert {"verify_email", "points.lesson_completed", "mentorship.session_reminder"} <= set(found)
    assert "trading.subscription_past_due" in found
    for name, versions in sorted(found.items()):
        assert len(versions) == 2, f"{name}: {len(versions)} text(s), want English and Swahili"
        english, swahili = versions
        assert _parts(english) == _parts(swahili), name
        assert english.text != swahili.text, name
    # Each is chosen by the reader's language.
    assert (
        points.award_email("points.session_paid", "sw")
        == (points.SWAHILI_EMAIL_TEMPLATES["points.session_paid"])
    )
    assert (
        points.award_email("points.session_paid", "en")
        == (points.EMAIL_TEMPLATES["points.session_paid"])
    )


# Values that read the same in every language: amounts, references, counts, market
# symbols and sides, names and handles, tier names (the points page's names).
_DATA = {
    "amount",
    "reference",
    "unused",
    "level",
    "symbol",
    "side",
    "author",
    "tier",
    "previous",
    "held",
    "unrecovered",
    "certificate_id",
    "verification_url",
    "points",
    "rating",
}
# Values that are someone's own words, passed on as written (said so in the report).
_AS_WRITTEN = {
    ("session_reminder", "title"): "the mentor's title for the session",
    ("community_reply", "title"): "the topic's title, as its author wrote it",
    ("community_mention", "title"): "the topic's title, as its author wrote it",
    ("payout_failed", "reason"): "the payment provider's failure reason",
    ("kyc_rejected", "reason"): "the reviewer's reason (ours, translated, when none)",
    ("community_moderation", "reason"): "a moderator's words (the screen's are translated)",
    ("payout_sent", "method"): "mpesa is a name (a bank is translated)",
    ("deposit_completed", "method"): "M-Pesa is a name (a card is translated)",
}


def _samples() -> list[tuple[str, dict[str, Any]]]:
    """An event of every topic the workflows consume for members, in each variant the
    consumer words differently."""
    one, two = uuid.uuid4(), uuid.uuid4()
    at = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    samples: list[EventPayload] = [
        SessionBooked(session_id=one, booking_id=two, mentee_id=one, mentor_id=two, starts_at=at),
        *(
            SessionCancelled(session_id=one, booking_id=two, mentee_id=one, cancelled_by=by)
            for by in (one, two)
        ),
        *(
            SessionReminder(session_id=one, user_id=one, lead=lead, starts_at=at, title="Risk")
            for lead in ("24h", "1h")
        ),
        *(
            PaymentCaptured(
                user_id=one,
                charge_id=two,
                purpose=purpose,
                reference="S-1",
                amount_minor=100,
                currency="KES",
                escrow_id=None,
            )
            for purpose in ("course", "subscription", "session", "package")
        ),
        *(
            PackageClosed(
                purchase_id=one,
                mentee_id=one,
                mentor_id=two,
                reason=reason,
                unused=2,
                refunded_minor=100,
                currency="KES",
            )
            for reason in ("expired", "closed")
        ),
        PackagePurchased(
            purchase_id=one,
            package_id=two,
            mentee_id=one,
            mentor_id=two,
            sessions=3,
            amount_minor=300,
            currency="KES",
        ),
        PayoutCompleted(user_id=one, payout_id=two, amount_minor=1, currency="KES", method="bank"),
        PayoutFailed(user_id=one, payout_id=two, amount_minor=1, currency="KES", reason="closed"),
        PayoutNeedsReview(
            user_id=one, payout_id=two, amount_minor=1, currency="KES", reason="another amount"
        ),
        SubscriptionPastDue(
            subscription_id=str(one),
            subscriber_id=str(one),
            mentor_id=str(two),
            amount_minor=100,
            currency="KES",
            period=3,
        ),
        KycApproved(user_id=one, level=2),
        *(
            KycRejected(user_id=one, document_id=two, doc_type=doc, reason=None)
            for doc in ("government_id", "proof_of_address")
        ),
        TierChanged(user_id=str(one), previous="bronze", tier="silver"),
        PostCreated(
            post_id=str(one),
            topic_id=str(two),
            space_id=str(two),
            seq=2,
            author_id=str(two),
            author_handle="baraka",
            topic_author_id=str(one),
            topic_title="Stops",
            mentioned_ids=[str(uuid.uuid4())],
        ),
        PostMentioned(
            post_id=str(one),
            topic_id=str(two),
            space_id=str(two),
            seq=2,
            author_id=str(two),
            author_handle="baraka",
            topic_title="Stops",
            mentioned_ids=[str(uuid.uuid4())],
        ),
        *(
            PostModerated(
                post_id=str(one),
                topic_id=str(two),
                seq=2,
                author_id=str(one),
                topic_title="Stops",
                action=action,
                reason="Held for review: it promises guaranteed returns.",
                reason_sw="Limesimamishwa ili likaguliwe: linaahidi faida iliyohakikishwa.",
                until=at.isoformat() if action == "suspended" else None,
            )
            for action in ("held", "hidden", "approved", "edited", "deleted", "warned", "suspended")
        ),
        *(
            PointsAwarded(
                user_id=str(one),
                entry_id=str(uuid.uuid4()),
                delta=20,
                reason_code=code,
                balance=120,
            )
            for code in (*AWARD_TEMPLATES, "first_deposit")
        ),
        SessionRescheduled(
            session_id=one,
            starts_at=at,
            ends_at=at + timedelta(hours=1),
            mentee_id=one,
            mentor_id=two,
            moved_by=one,
        ),
        SessionRefunded(session_id=one, mentee_id=one, amount_minor=100, currency="KES"),
        RefundIssued(
            user_id=one, related_id=two, amount_minor=100, currency="KES", reference="charge"
        ),
        *(
            DepositCompleted(
                user_id=one,
                deposit_id=two,
                amount_minor=100,
                currency="KES",
                method=method,
                first_deposit=False,
            )
            for method in ("stripe", "mpesa")
        ),
        *(
            EscrowReleased(
                escrow_id=two,
                mentor_id=one,
                payer_id=two,
                reference=reference,
                amount_minor=100,
                mentor_minor=85,
                currency="KES",
            )
            for reference in (
                "session:1",
                "package:1",
                "cohort:1",
                "signal feed subscription 1 period 1",
                "premium community group g period 1",
                "other",
            )
        ),
        *(
            EscrowHeld(
                escrow_id=two,
                payer_id=one,
                mentor_id=two,
                reference=reference,
                amount_minor=100,
                currency="KES",
                invoice_number="DRC-2026-000001",
            )
            for reference in (
                "session:1",
                "cohort:1",
                "signal feed subscription 1 period 1",
                "premium community group g period 1",
                "other",
            )
        ),
        ChargebackOpened(
            user_id=one,
            chargeback_id="dp_1",
            deposit_id=two,
            amount_minor=100,
            currency="USD",
            held_minor=80,
        ),
        *(
            ChargebackClosed(
                user_id=one,
                chargeback_id="dp_1",
                deposit_id=two,
                amount_minor=100,
                currency="USD",
                held_minor=80,
                status=status,
                unrecovered_minor=20 if status == "lost" else 0,
            )
            for status in ("won", "lost")
        ),
        SubscriptionLapsed(
            subscription_id=str(one),
            subscriber_id=str(one),
            mentor_id=str(two),
            amount_minor=100,
            currency="KES",
            period=3,
        ),
        *(
            BadgeEarned(user_id=str(one), badge=badge)
            for badge in ("first_lesson", "first_assessment_passed", "streak_7_days")
        ),
        CertificateGranted(
            user_id=one,
            program_id=two,
            certificate_id="DRC-1",
            verification_url="https://dracarys.example/certificates/DRC-1",
        ),
        *(
            UserRoleChanged(user_id=one, role=role.value, previous="mentee")
            for role in Role
            if role is not Role.MENTEE
        ),
        UserRoleChanged(user_id=one, role="mentee", previous="mentor"),
        SessionRated(session_id=one, rater_id=two, rated_id=one, rating=4, mentor_id=one),
        AffiliateCommissionAccrued(
            commission_id=str(one),
            affiliate_id=str(one),
            referee_id=str(two),
            payment_id=str(two),
            amount_minor=7_500,
            currency="KES",
        ),
        PointsFrozen(user_id=str(one), reason="velocity", rule_code="social_follow", points=50),
        *(
            PointsClawedBack(
                user_id=str(one),
                entry_id=str(two),
                points=150,
                reason_code=code,
                related_entity="youtube",
            )
            for code in ("refund_clawback", "follow_withdrawn")
        ),
    ]
    return [(s.topic, msgspec.to_builtins(s)) for s in samples]


def test_every_value_a_member_notice_says_in_words_has_its_swahili_twin() -> None:
    """Every value of every member notice is data (an amount, a name), someone's own
    words passed on, or given in Swahili too: a value the consumers word in English only
    fails here, as does a topic they consume without a sample above."""
    samples = _samples()
    # Staff alerts go to staff; signals' values are a symbol, a side and a mentor's name;
    # a chat notice's only value is the sender's name (its own test reads the database).
    members_topics = CONSUMED_TOPICS - {
        StaffAlertRaised.topic,
        SignalPublished.topic,
        ChatMessageSent.topic,
    }
    assert {topic for topic, _ in samples} == members_topics
    checked: set[str] = set()
    for topic, payload in samples:
        event = Event(id=uuid.uuid4(), topic=topic, payload=payload, created_at=datetime.now(UTC))
        found = (
            consumers._points_awarded(event, email_on_award=True)
            if topic == POINTS_AWARDED
            else consumers._PLAIN[topic](event)
        )
        assert found, topic
        for notice in found:
            checked.add(notice.kind)
            swahili = notice.values_in("sw")
            for name, value in notice.values.items():
                if name in _DATA or (notice.kind, name) in _AS_WRITTEN:
                    continue
                assert swahili[name] != value, (notice.kind, name, value)
            # Rendered, the Swahili text carries none of the English words we chose.
            text = code_text(notice.kind, "in_app", "sw")
            assert text is not None
            rendered = Template(f"{text.subject}\n{text.body}").substitute(swahili)
            for name, value in notice.values.items():
                if name not in _DATA and (notice.kind, name) not in _AS_WRITTEN:
                    assert value not in rendered, (notice.kind, name, value)
            if notice.email is not None:
                assert notice.email_in("sw") != notice.email, notice.kind
    assert checked == {
        kind
        for kind in WORKFLOWS
        if kind not in {"staff_alert", "signal_published", "chat_message", "chat_request"}
    }


async def test_a_swahili_reader_gets_awards_dates_documents_and_receipts_in_swahili(
    client: AppClient, platform: Platform, make_user, clock: ManualClock
) -> None:
    clock.set(datetime(2026, 12, 6, 9, 0, tzinfo=UTC))
    swahili, english, mentor = await make_user(), await make_user(), await make_user()
    await set_language(platform.pool, swahili.id, "sw")

    def events_for(user_id: uuid.UUID) -> list[Event]:
        payloads: list[EventPayload] = [
            PointsAwarded(
                user_id=str(user_id),
                entry_id=str(uuid.uuid4()),
                delta=20,
                reason_code="session_paid",
                balance=120,
            ),
            SessionBooked(
                session_id=uuid.uuid4(),
                booking_id=uuid.uuid4(),
                mentee_id=user_id,
                mentor_id=mentor.id,
                starts_at=datetime(2026, 12, 6, 12, 0, tzinfo=UTC),
            ),
            KycRejected(
                user_id=user_id, document_id=uuid.uuid4(), doc_type="government_id", reason=None
            ),
            PaymentCaptured(
                user_id=user_id,
                charge_id=uuid.uuid4(),
                purpose="session",
                reference="S-7",
                amount_minor=250_000,
                currency="KES",
                escrow_id=None,
            ),
        ]
        return [event_of(platform, p) for p in payloads]

    await deliver(platform, [*events_for(swahili.id), *events_for(english.id)])

    assert sorted(await _inbox(client, swahili)) == sorted(
        [
            (
                "Pointi 20 kwa kipindi chako",
                "Kipindi chako kimekupatia pointi 20. Salio lako: 120.",
            ),
            (
                "Kipindi kimewekwa",
                "Kipindi chako cha Jumapili, 6 Desemba 2026, 12:00 UTC kimewekwa. Kiko "
                "kwenye ukurasa wa vipindi vyako.",
            ),
            (
                "Hati ya utambulisho imekataliwa",
                "Hati yako (kitambulisho cha serikali) haikukubaliwa: mkaguzi hakutoa "
                "sababu. Unaweza kupakia nyingine mpya.",
            ),
            (
                "Malipo yamepokelewa: KES 2,500.00",
                "Tumepokea KES 2,500.00 kwa ajili ya kipindi chako (S-7). Risiti zako ziko "
                "kwenye ukurasa wa pochi.",
            ),
        ]
    )
    assert sorted(await _inbox(client, english)) == sorted(
        [
            (
                "20 points for your session",
                "Your session earned you 20 points. Your balance: 120.",
            ),
            (
                "Session booked",
                "Your session on Sunday, 6 December 2026, 12:00 UTC is booked. It is on your "
                "sessions page.",
            ),
            (
                "Identity document rejected",
                "Your government ID was not accepted: the reviewer gave no reason. You can "
                "upload a new one.",
            ),
            (
                "Payment received: KES 2,500.00",
                "We received KES 2,500.00 for your session (S-7). Your receipts are on the "
                "wallet page.",
            ),
        ]
    )
    # The award's own e-mail and the workflows' e-mails, in each reader's language.
    sw_subjects = {subject for subject, _ in await _emails(platform, swahili.id)}
    assert sw_subjects == {
        "Pointi 20 kwa kipindi chako",
        "Kipindi kimewekwa",
        "Malipo yamepokelewa: KES 2,500.00",
    }
    en_subjects = {subject for subject, _ in await _emails(platform, english.id)}
    assert en_subjects == {
        "20 points for your session",
        "Session booked",
        "Payment received: KES 2,500.00",
    }


async def test_a_swahili_preview_is_filled_with_swahili_samples(
    client: AppClient, make_user
) -> None:
    admin = await make_user(role=Role.ADMIN)
    path = f"{TEMPLATES}/session_booked/in_app/sw"
    detail = (await client.get(path, headers=admin.headers)).json()
    assert detail["sample"]["starts_at"] == "Jumatatu, 7 Desemba 2026, 14:00 UTC"
    shown = await client.post(
        f"{path}/preview",
        json={"subject": "Kipindi", "body": "Tukutane $starts_at."},
        headers=admin.headers,
    )
    assert shown.json()["body"] == "Tukutane Jumatatu, 7 Desemba 2026, 14:00 UTC."
    english = await client.post(
        f"{TEMPLATES}/session_booked/in_app/en/preview",
        json={"subject": "Session", "body": "See you $starts_at."},
        headers=admin.headers,
    )
    assert english.json()["body"] == "See you Monday, 7 December 2026, 14:00 UTC."
