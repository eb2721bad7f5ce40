"""Issue 20 item 1, the events that mattered to a person but told nobody: a session moved
or refunded, money refunded or deposited, a card deposit disputed and decided, a feed
subscription ended, a badge or a certificate earned. Each delivers to the person it is
about, in their language; a refund another notice already tells of is not told twice;
and a past-due subscription is e-mailed once (by trading), not again by the workflow."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from dracarys.clock import ManualClock
from dracarys.curriculum import CertificateGranted
from dracarys.identity import Role
from dracarys.mentorship import SessionRated, SessionRefunded, SessionRescheduled
from dracarys.outbox import Event, EventPayload
from dracarys.platform import Platform
from dracarys.points import BadgeEarned, PointsFrozen, apply_events
from dracarys.social import AffiliateCommissionAccrued, FollowRevoked, FollowVerified
from dracarys.trading import SubscriptionLapsed, SubscriptionPastDue
from dracarys.wallet import (
    ChargebackClosed,
    ChargebackOpened,
    DepositCompleted,
    EscrowReleased,
    PayoutNeedsReview,
    RefundIssued,
)
from tests.mentorship import conftest as mentorship_fixtures
from tests.notifications.conftest import deliver, event_of, messages_on, set_language
from tests.support import AppClient, Auth

auth = mentorship_fixtures.auth
make_mentor = mentorship_fixtures.make_mentor
make_mentee = mentorship_fixtures.make_mentee

NOON = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


async def _published(pool: asyncpg.Pool, topic: str) -> list[Event]:
    """The events of a topic the domain actions wrote into the outbox, as it relays them."""
    rows = await pool.fetch(
        "SELECT id, topic, payload, created_at FROM outbox WHERE topic = $1 ORDER BY created_at",
        topic,
    )
    return [
        Event(id=r["id"], topic=r["topic"], payload=r["payload"], created_at=r["created_at"])
        for r in rows
    ]


async def _inbox(pool: asyncpg.Pool, user_id: uuid.UUID) -> list[tuple[str, str, str]]:
    rows = await pool.fetch(
        """SELECT kind, title, body FROM notifications WHERE user_id = $1 AND in_app
           ORDER BY created_at, kind""",
        user_id,
    )
    return [(r["kind"], r["title"], r["body"]) for r in rows]


async def _outbox(pool: asyncpg.Pool) -> list[Event]:
    """Every event the real paths wrote, in order: what the relay would hand on."""
    rows = await pool.fetch(
        "SELECT id, topic, payload, created_at FROM outbox ORDER BY created_at, id"
    )
    return [
        Event(id=r["id"], topic=r["topic"], payload=r["payload"], created_at=r["created_at"])
        for r in rows
    ]


def _events_about(member: uuid.UUID, other: uuid.UUID) -> list[EventPayload]:
    """One event of each new workflow about `member` (`other` is the other party)."""
    deposit = uuid.uuid4()
    return [
        SessionRescheduled(
            session_id=uuid.uuid4(),
            starts_at=NOON + timedelta(days=3),
            ends_at=NOON + timedelta(days=3, hours=1),
            mentee_id=member,
            mentor_id=other,
            moved_by=other,
        ),
        SessionRefunded(
            session_id=uuid.uuid4(), mentee_id=member, amount_minor=250_000, currency="KES"
        ),
        RefundIssued(
            user_id=member,
            related_id=uuid.uuid4(),
            amount_minor=150_000,
            currency="KES",
            reference="cohort:" + str(uuid.uuid4()),
        ),
        DepositCompleted(
            user_id=member,
            deposit_id=deposit,
            amount_minor=500_000,
            currency="KES",
            method="stripe",
            first_deposit=True,
        ),
        ChargebackOpened(
            user_id=member,
            chargeback_id="dp_" + uuid.uuid4().hex,
            deposit_id=deposit,
            amount_minor=12_000,
            currency="USD",
            held_minor=8_000,
        ),
        ChargebackClosed(
            user_id=member,
            chargeback_id="dp_" + uuid.uuid4().hex,
            deposit_id=deposit,
            amount_minor=12_000,
            currency="USD",
            held_minor=8_000,
            status="lost",
            unrecovered_minor=4_000,
        ),
        SubscriptionLapsed(
            subscription_id=str(uuid.uuid4()),
            subscriber_id=str(member),
            mentor_id=str(other),
            amount_minor=150_000,
            currency="KES",
            period=3,
        ),
        BadgeEarned(user_id=str(member), badge="streak_7_days"),
        CertificateGranted(
            user_id=member,
            program_id=uuid.uuid4(),
            certificate_id="DRC-7F3A",
            verification_url="https://dracarys.example/certificates/DRC-7F3A",
        ),
    ]


EXPECTED_KINDS = [
    "session_rescheduled",
    "session_refunded",
    "refund_issued",
    "deposit_completed",
    "chargeback_opened",
    "chargeback_lost",
    "subscription_lapsed",
    "badge_earned",
    "certificate_granted",
]


async def test_each_new_workflow_tells_the_person_it_is_about_in_their_language(
    platform: Platform, make_user, clock: ManualClock
) -> None:
    clock.set(NOON)
    english, swahili, mentor = await make_user(), await make_user(), await make_user()
    await set_language(platform.pool, swahili.id, "sw")
    events = [
        event_of(platform, payload)
        for member in (english.id, swahili.id)
        for payload in _events_about(member, mentor.id)
    ]

    await deliver(platform, events)
    # Delivered again under another consumer name (a redelivery): nothing more.
    await deliver(platform, events, consumer="notifications.workflows.again")

    for member in (english, swahili):
        assert sorted(kind for kind, _, _ in await _inbox(platform.pool, member.id)) == sorted(
            EXPECTED_KINDS
        )
        # Every one of them is also e-mailed (none is low priority), once.
        assert sorted(await messages_on(platform.pool, member.id, "email")) == sorted(
            f"notify.{kind}" for kind in EXPECTED_KINDS
        )
    # The mentor hears of the moved session (both of its people do); of nothing else.
    assert [kind for kind, _, _ in await _inbox(platform.pool, mentor.id)] == [
        "session_rescheduled",
        "session_rescheduled",
    ]

    english_texts = {kind: (t, b) for kind, t, b in await _inbox(platform.pool, english.id)}
    swahili_texts = {kind: (t, b) for kind, t, b in await _inbox(platform.pool, swahili.id)}
    assert english_texts["session_rescheduled"][1] == (
        "Your session now starts on Monday, 7 December 2026, 12:00 UTC. It is on your "
        "sessions page."
    )
    assert swahili_texts["session_rescheduled"][1] == (
        "Kipindi chako sasa kinaanza Jumatatu, 7 Desemba 2026, 12:00 UTC. Kiko kwenye "
        "ukurasa wa vipindi vyako."
    )
    assert english_texts["deposit_completed"][1] == (
        "Your deposit of KES 5,000.00 by card is in your wallet."
    )
    assert swahili_texts["deposit_completed"][1] == (
        "Amana yako ya KES 5,000.00 kupitia kadi iko kwenye pochi yako."
    )
    assert english_texts["badge_earned"][0] == "Badge earned: 7-day learning streak"
    assert swahili_texts["badge_earned"][0] == "Umepata beji: Mfululizo wa siku 7 za kujifunza"
    assert english_texts["chargeback_lost"][1].endswith(
        "(USD 80.00 that was held, and USD 40.00 it could not cover)."
    )
    assert swahili_texts["subscription_lapsed"][1].startswith(
        "KES 1,500.00 za usajili wako wa ishara (awamu ya 3)"
    )
    assert english_texts["certificate_granted"][1].endswith(
        "https://dracarys.example/certificates/DRC-7F3A"
    )
    # No English left in a Swahili reader's inbox: each text is the Swahili one.
    for kind in EXPECTED_KINDS:
        assert swahili_texts[kind] != english_texts[kind], kind


async def test_a_refund_another_notice_tells_of_is_not_told_twice(
    platform: Platform, make_user
) -> None:
    """A cancelled session's escrow refund is `session.refunded`'s to tell, a package's
    `package.closed`'s, a lost chargeback `chargeback.closed`'s."""
    member = await make_user()
    told_elsewhere = [
        RefundIssued(
            user_id=member.id,
            related_id=uuid.uuid4(),
            amount_minor=100,
            currency="KES",
            reference=reference,
        )
        for reference in (f"session:{uuid.uuid4()}", f"package:{uuid.uuid4()}", "chargeback:dp_1")
    ]
    refunded = SessionRefunded(
        session_id=uuid.uuid4(), mentee_id=member.id, amount_minor=100, currency="KES"
    )

    await deliver(platform, [event_of(platform, p) for p in (*told_elsewhere, refunded)])

    assert [kind for kind, _, _ in await _inbox(platform.pool, member.id)] == ["session_refunded"]


async def test_a_won_chargeback_says_the_deposit_stays(platform: Platform, make_user) -> None:
    member = await make_user()
    won = ChargebackClosed(
        user_id=member.id,
        chargeback_id="dp_won",
        deposit_id=uuid.uuid4(),
        amount_minor=12_000,
        currency="USD",
        held_minor=8_000,
        status="won",
        unrecovered_minor=0,
    )

    await deliver(platform, [event_of(platform, won)])

    [(kind, title, _)] = await _inbox(platform.pool, member.id)
    assert (kind, title) == ("chargeback_won", "Card dispute closed: USD 120.00 stays yours")


async def test_a_past_due_subscription_is_not_e_mailed_by_the_workflow_too(
    platform: Platform, make_user
) -> None:
    """Trading e-mails the past-due notice itself (with the mentor's name and the week of
    grace); the workflow tells the inbox and, to a verified phone, SMS — no second mail."""
    member = await make_user(phone="+254700000009")
    await platform.pool.execute(
        "UPDATE users SET phone_verified_at = now() WHERE id = $1", member.id
    )
    due = SubscriptionPastDue(
        subscription_id=str(uuid.uuid4()),
        subscriber_id=str(member.id),
        mentor_id=str(uuid.uuid4()),
        amount_minor=150_000,
        currency="KES",
        period=2,
    )

    await deliver(platform, [event_of(platform, due)])

    assert [kind for kind, _, _ in await _inbox(platform.pool, member.id)] == ["payment_failed"]
    assert await messages_on(platform.pool, member.id, "email") == []
    assert await messages_on(platform.pool, member.id, "sms") == ["notify.payment_failed"]


async def test_a_mentor_is_told_what_each_escrow_release_earned_them_in_their_language(
    platform: Platform, make_user
) -> None:
    """A mentor's money: when a session's, package's, course's, feed's or premium group's
    escrow is released, the mentor hears what they earned from it (once, e-mailed too);
    the payer hears nothing more, and a release that earned the mentor nothing tells
    nobody."""
    english, swahili, payer = await make_user(), await make_user(), await make_user()
    await set_language(platform.pool, swahili.id, "sw")
    references = [
        f"session:{uuid.uuid4()}",
        f"package:{uuid.uuid4()}",
        f"cohort:{uuid.uuid4()}",
        f"signal feed subscription {uuid.uuid4()} period 2",
        "premium community group theta-desk period 4",
        "demo: a mentoring charge",
    ]

    def released(mentor: uuid.UUID, reference: str, mentor_minor: int) -> EscrowReleased:
        return EscrowReleased(
            escrow_id=uuid.uuid4(),
            mentor_id=mentor,
            payer_id=payer.id,
            reference=reference,
            amount_minor=250_000,
            mentor_minor=mentor_minor,
            currency="KES",
        )

    events = [
        event_of(platform, released(mentor.id, reference, 212_500))
        for mentor in (english, swahili)
        for reference in references
    ]
    events.append(event_of(platform, released(english.id, f"session:{uuid.uuid4()}", 0)))

    await deliver(platform, events)
    await deliver(platform, events, consumer="notifications.workflows.again")

    english_bodies = [b for kind, _, b in await _inbox(platform.pool, english.id)]
    swahili_inbox = await _inbox(platform.pool, swahili.id)
    assert {kind for kind, _, _ in swahili_inbox} == {"earnings_released"}
    assert {t for _, t, _ in swahili_inbox} == {"Mapato: KES 2,125.00"}
    assert sorted(english_bodies) == sorted(
        f"You earned KES 2,125.00 from {purpose}. Your earnings are on the wallet page."
        for purpose in (
            "a session",
            "a session package",
            "a course",
            "your signal feed",
            "your premium group",
            "your mentoring",
        )
    )
    assert sorted(b for _, _, b in swahili_inbox) == sorted(
        f"Umepata KES 2,125.00 kutokana na {purpose}. Mapato yako yanaonekana kwenye ukurasa "
        "wa pochi."
        for purpose in (
            "kipindi",
            "kifurushi cha vipindi",
            "kozi",
            "ishara zako",
            "kikundi chako cha malipo",
            "ushauri wako",
        )
    )
    assert await messages_on(platform.pool, english.id, "email") == [
        "notify.earnings_released"
    ] * len(references)
    assert await _inbox(platform.pool, payer.id) == []


async def test_a_member_whose_points_earning_is_frozen_is_told_why_once_in_their_language(
    platform: Platform, make_user
) -> None:
    """Points' anti-abuse froze a member's earning (too many points too fast): they hear how
    many points were not added, why, and that support can help (in-app and e-mailed,
    once however often the event is delivered)."""
    english, swahili = await make_user(), await make_user()
    await set_language(platform.pool, swahili.id, "sw")
    events = [
        event_of(
            platform,
            PointsFrozen(
                user_id=str(member.id), reason="velocity", rule_code="social_follow", points=1_500
            ),
        )
        for member in (english, swahili)
    ]

    await deliver(platform, events)
    await deliver(platform, events, consumer="notifications.workflows.again")

    assert await _inbox(platform.pool, english.id) == [
        (
            "points_frozen",
            "Points earning paused",
            "We paused your points earning while we review your account, so 1,500 points "
            "were not added (more points than our limit came in within a short time). If you "
            "think this is a mistake, contact support or appeal from your points page.",
        )
    ]
    assert await _inbox(platform.pool, swahili.id) == [
        (
            "points_frozen",
            "Upataji wa pointi umesitishwa",
            "Tumesitisha upataji wako wa pointi tunapokagua akaunti yako, kwa hiyo pointi "
            "1,500 hazikuongezwa (pointi nyingi kuliko kikomo chetu ziliingia kwa muda "
            "mfupi). Ikiwa unaona ni kosa, wasiliana na huduma kwa wateja au kata rufaa "
            "kwenye ukurasa wako wa pointi.",
        )
    ]
    for member in (english, swahili):
        assert await messages_on(platform.pool, member.id, "email") == ["notify.points_frozen"]


async def test_a_member_whose_points_are_taken_back_is_told_how_many_and_why(
    platform: Platform, make_user
) -> None:
    """The real path: points awards a verified follow, the follow is revoked, points takes
    the award back and writes `points.clawed_back`; relayed (twice), the member hears of it
    once, in their language."""
    english, swahili = await make_user(), await make_user()
    await set_language(platform.pool, swahili.id, "sw")
    for member in (english, swahili):
        for payload in (
            FollowVerified(user_id=str(member.id), platform="youtube"),
            FollowRevoked(user_id=str(member.id), platform="youtube", reason="gone"),
        ):
            async with platform.pool.acquire() as conn, conn.transaction():
                await apply_events(conn, platform, [event_of(platform, payload)])
    events = await _published(platform.pool, "points.clawed_back")
    assert len(events) == 2

    await deliver(platform, events)
    await deliver(platform, events, consumer="notifications.workflows.again")

    assert await _inbox(platform.pool, english.id) == [
        (
            "points_clawed_back",
            "150 points taken back",
            "150 points were taken back from your balance (social follow withdrawn). Your "
            "history is on your points page.",
        )
    ]
    assert await _inbox(platform.pool, swahili.id) == [
        (
            "points_clawed_back",
            "Pointi 150 zimerudishwa",
            "Pointi 150 zimeondolewa kwenye salio lako (ufuatiliaji wa mtandao wa kijamii "
            "umeondolewa). Historia yako iko kwenye ukurasa wako wa pointi.",
        )
    ]
    assert await messages_on(platform.pool, english.id, "email") == ["notify.points_clawed_back"]


async def test_an_affiliate_is_told_of_each_commission_a_referred_members_payment_earned(
    platform: Platform, make_user
) -> None:
    """A referred member's payment earned their affiliate a commission (pending until the
    refund window closes): the affiliate hears the amount, once, e-mailed too; the member
    who paid hears nothing of it."""
    english, swahili, referee = await make_user(), await make_user(), await make_user()
    await set_language(platform.pool, swahili.id, "sw")
    events = [
        event_of(
            platform,
            AffiliateCommissionAccrued(
                commission_id=str(uuid.uuid4()),
                affiliate_id=str(affiliate.id),
                referee_id=str(referee.id),
                payment_id=str(uuid.uuid4()),
                amount_minor=36_250,
                currency="KES",
            ),
        )
        for affiliate in (english, swahili)
    ]

    await deliver(platform, events)
    await deliver(platform, events, consumer="notifications.workflows.again")

    assert await _inbox(platform.pool, english.id) == [
        (
            "affiliate_commission",
            "Commission earned: KES 362.50",
            "A member you referred made a payment, and you earned KES 362.50 in commission. "
            "It becomes payable once the refund window closes; see your affiliate page.",
        )
    ]
    assert await _inbox(platform.pool, swahili.id) == [
        (
            "affiliate_commission",
            "Kamisheni: KES 362.50",
            "Mwanachama uliyemleta amefanya malipo, na umepata kamisheni ya KES 362.50. "
            "Italipwa muda wa kurejesha pesa ukiisha; tazama ukurasa wako wa ushirika.",
        )
    ]
    assert await messages_on(platform.pool, english.id, "email") == ["notify.affiliate_commission"]
    assert await _inbox(platform.pool, referee.id) == []


async def test_a_mentor_is_told_of_a_mentees_rating_and_the_mentee_of_nothing(
    platform: Platform, make_user
) -> None:
    """A mentee rated the session: its mentor hears the stars, once, in their language;
    being low priority, its e-mail waits for the daily digest. The mentor's rating of the
    mentee, and an event written before it named the mentor, tell nobody."""
    english, swahili, mentee = await make_user(), await make_user(), await make_user()
    await set_language(platform.pool, swahili.id, "sw")
    events = [
        event_of(
            platform,
            SessionRated(
                session_id=uuid.uuid4(),
                rater_id=mentee.id,
                rated_id=mentor.id,
                rating=4,
                recommend=9,
                mentor_id=mentor.id,
            ),
        )
        for mentor in (english, swahili)
    ]
    session_id = uuid.uuid4()
    events += [
        event_of(
            platform,
            SessionRated(
                session_id=session_id,
                rater_id=english.id,
                rated_id=mentee.id,
                rating=5,
                mentor_id=english.id,
            ),
        ),
        event_of(
            platform,
            SessionRated(session_id=session_id, rater_id=mentee.id, rated_id=english.id, rating=2),
        ),
    ]

    await deliver(platform, events)
    await deliver(platform, events, consumer="notifications.workflows.again")

    assert await _inbox(platform.pool, english.id) == [
        (
            "session_rated",
            "New rating: 4 of 5 stars",
            "A mentee rated your session 4 of 5 stars. Your sessions are on your teaching "
            "sessions page.",
        )
    ]
    assert await _inbox(platform.pool, swahili.id) == [
        (
            "session_rated",
            "Tathmini mpya: nyota 4 kati ya 5",
            "Mwanafunzi amekipa kipindi chako nyota 4 kati ya 5. Vipindi vyako viko kwenye "
            "ukurasa wa vipindi unavyofundisha.",
        )
    ]
    assert await _inbox(platform.pool, mentee.id) == []
    assert await messages_on(platform.pool, english.id, "email") == []
    assert (
        await platform.pool.fetchval(
            "SELECT digest FROM notifications WHERE user_id = $1 AND kind = 'session_rated'",
            english.id,
        )
        == "pending"
    )


async def test_a_person_whose_role_an_admin_changed_is_told_what_they_are_now(
    client: AppClient, platform: Platform, make_user
) -> None:
    """The real path: an admin sets roles through the API; relayed (twice), each person
    hears what they are now, once, in the account category nobody can switch off. A role
    set to what it already was tells nobody."""
    admin = await make_user(role=Role.ADMIN)
    english, swahili, unchanged = await make_user(), await make_user(), await make_user()
    await set_language(platform.pool, swahili.id, "sw")
    for member, role in ((english, "mentor"), (swahili, "reviewer"), (unchanged, "mentee")):
        changed = await client.put(
            f"/api/v1/admin/users/{member.id}/role", json={"role": role}, headers=admin.headers
        )
        assert changed.status_code == 200, changed.text
    events = await _published(platform.pool, "user.role_changed")
    assert len(events) == 3

    await deliver(platform, events)
    await deliver(platform, events, consumer="notifications.workflows.again")

    assert await _inbox(platform.pool, english.id) == [
        (
            "role_changed",
            "You are now a mentor",
            "An administrator changed your role: you are now a mentor, and what you can do "
            "on Dracarys changes with it. If you did not expect this, contact support.",
        )
    ]
    assert await _inbox(platform.pool, swahili.id) == [
        (
            "role_changed",
            "Sasa wewe ni mkaguzi",
            "Msimamizi amebadilisha nafasi yako: sasa wewe ni mkaguzi, na unachoweza kufanya "
            "kwenye Dracarys kinabadilika pamoja nayo. Ikiwa hukutarajia hili, wasiliana na "
            "huduma kwa wateja.",
        )
    ]
    assert await _inbox(platform.pool, unchanged.id) == []
    links = await platform.pool.fetch(
        "SELECT user_id, link FROM notifications WHERE kind = 'role_changed'"
    )
    assert {(r["user_id"], r["link"]) for r in links} == {
        (english.id, "/mentor"),
        (swahili.id, "/staff"),
    }
    assert await messages_on(platform.pool, english.id, "email") == ["notify.role_changed"]


async def test_paying_for_a_session_from_the_wallet_sends_one_receipt_naming_its_invoice(
    client: AppClient, platform: Platform, auth: Auth, make_mentor, make_mentee
) -> None:
    """The real path: a mentee books a paid session (the money goes into escrow, as for
    packages, courses, signal feeds and premium groups) and gets the payment receipt,
    naming the invoice, in the app and by e-mail, once however often it is relayed; a
    session paid through the charge API (escrowed too) gets one receipt, not two."""
    mentor = await make_mentor(price_minor=200_000)
    booker, charger = await make_mentee(), await make_mentee()
    booked = await mentorship_fixtures.book(
        client, auth(booker), mentor.types["one_on_one"], datetime(2026, 1, 7, 6, 0, tzinfo=UTC)
    )
    assert booked.status_code == 201, booked.text
    charged = await client.post(
        "/api/v1/payments/charge",
        json={
            "purpose": "session",
            "reference": "S-42",
            "amount_minor": 150_000,
            "currency": "KES",
            "mentor_id": str(mentor.id),
        },
        headers={**auth(charger), "Idempotency-Key": f"charge-{uuid.uuid4()}"},
    )
    assert charged.status_code == 201, charged.text
    invoices = {
        r["user_id"]: r["number"]
        for r in await platform.pool.fetch("SELECT user_id, number FROM invoices")
    }
    events = await _outbox(platform.pool)

    await deliver(platform, events)
    await deliver(platform, events, consumer="notifications.workflows.again")

    receipts = [i for i in await _inbox(platform.pool, booker.id) if i[0] == "payment_receipt"]
    assert receipts == [
        (
            "payment_receipt",
            "Payment received: KES 2,000.00",
            f"We received KES 2,000.00 for your session ({invoices[booker.id]}). Your "
            "receipts are on the wallet page.",
        )
    ]
    assert "notify.payment_receipt" in await messages_on(platform.pool, booker.id, "email")
    charged_receipts = [
        i for i in await _inbox(platform.pool, charger.id) if i[0] == "payment_receipt"
    ]
    assert len(charged_receipts) == 1
    assert charged_receipts[0][1] == "Payment received: KES 1,500.00"
    assert "payment_receipt" not in {i[0] for i in await _inbox(platform.pool, mentor.id)}


async def test_a_package_bought_from_the_wallet_sends_one_receipt_for_its_whole_price(
    client: AppClient, platform: Platform, auth: Auth, make_mentor, make_mentee
) -> None:
    """A package's price is held in one escrow per session, but it was paid once: one
    receipt for the whole price, in the buyer's language, and none per session's share."""
    mentor = await make_mentor(price_minor=200_000)
    mentee = await make_mentee(funds_minor=1_000_000)
    offered = await client.post(
        "/api/v1/mentor/packages",
        json={
            "session_type_id": str(mentor.types["one_on_one"]),
            "title": "Three options sessions",
            "sessions": 3,
            "price_minor": 500_000,
            "valid_days": 30,
        },
        headers=auth(mentor.user),
    )
    assert offered.status_code == 201, offered.text
    bought = await client.post(
        f"/api/v1/packages/{offered.json()['id']}/purchase",
        json={"idempotency_key": f"buy-{uuid.uuid4()}"},
        headers=auth(mentee),
    )
    assert bought.status_code == 201, bought.text
    escrows = await platform.pool.fetchval(
        "SELECT count(*) FROM escrows WHERE payer_id = $1", mentee.id
    )
    assert escrows == 3
    events = await _outbox(platform.pool)

    await deliver(platform, events)
    await deliver(platform, events, consumer="notifications.workflows.again")

    receipts = [i for i in await _inbox(platform.pool, mentee.id) if i[0] == "payment_receipt"]
    assert receipts == [
        (
            "payment_receipt",
            "Payment received: KES 5,000.00",
            "We received KES 5,000.00 for your session package (3 sessions). Your receipts are "
            "on the wallet page.",
        )
    ]


async def test_a_withdrawal_held_for_review_tells_its_member_it_waits_not_why(
    platform: Platform, make_user
) -> None:
    """A payout M-Pesa's answer did not settle waits for an admin: its member hears it is
    being checked and the money stays reserved (in their language), once however often
    the event comes; the review's reason is for staff and is not passed on."""
    english, swahili = await make_user(), await make_user()
    await set_language(platform.pool, swahili.id, "sw")
    events = [
        event_of(
            platform,
            PayoutNeedsReview(
                user_id=member.id,
                payout_id=uuid.uuid4(),
                amount_minor=200_000,
                currency="KES",
                reason="M-Pesa reported KES 1,500.00 paid for a payout of KES 2,000.00",
            ),
        )
        for member in (english, swahili)
    ]

    await deliver(platform, events)
    await deliver(platform, events, consumer="notifications.workflows.again")

    assert await _inbox(platform.pool, english.id) == [
        (
            "payout_under_review",
            "Withdrawal being checked: KES 2,000.00",
            "Your withdrawal of KES 2,000.00 is being checked by our team before we settle "
            "it. The money stays reserved; we will tell you when it is sent or back in your "
            "wallet.",
        )
    ]
    [(kind, title, body)] = await _inbox(platform.pool, swahili.id)
    assert (kind, title) == ("payout_under_review", "Utoaji wa pesa unakaguliwa: KES 2,000.00")
    assert "M-Pesa" not in body
    assert "1,500" not in body
    assert await messages_on(platform.pool, english.id, "email") == ["notify.payout_under_review"]
