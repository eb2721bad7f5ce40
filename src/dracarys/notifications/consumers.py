"""Domain events → notices of a workflow (`workflows.WORKFLOWS`), for the one consumer
`notifications.workflows` the workers list. Each producer is read through its public
payload type; the dedupe key is the event's own identity (the outbox event id, or for
an award its ledger entry), so a delivery of the same event again writes nothing new.

Every value a notice carries in words the platform chose (dates, who cancelled, what was
paid for, a hold's reason) is given in Swahili too (`Notice.translations`), so a member
who reads Swahili gets no English in the middle of a Swahili text (issue 20 item 8).
What people wrote (a topic's title, a moderator's or reviewer's reason), names, amounts,
market symbols and a payment provider's failure reason stay as they came; staff alerts
are for staff and stay English."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

import msgspec

from dracarys import admin, points
from dracarys.community import PostCreated, PostMentioned, PostModerated
from dracarys.curriculum import CertificateGranted
from dracarys.dates import format_datetime, format_day
from dracarys.db import Connection
from dracarys.identity import (
    KycApproved,
    KycRejected,
    Role,
    UserRoleChanged,
    active_accounts_with_role,
    display_names,
    document_name,
)
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
from dracarys.money import format_money
from dracarys.notifications.chat import store as chat_store
from dracarys.notifications.chat.events import ChatMessageSent
from dracarys.notifications.chat.models import Status as ChatStatus
from dracarys.notifications.inbox.models import Notice
from dracarys.notifications.inbox.service import deliver_notices
from dracarys.outbox import Event
from dracarys.platform import Platform
from dracarys.social import AffiliateCommissionAccrued
from dracarys.trading import (
    SignalPublished,
    SubscriptionLapsed,
    SubscriptionPastDue,
    feed_subscribers,
)
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

SWAHILI = "sw"

# What a payment was for, in each language (the Swahili with its possessive, which agrees
# with the noun: "kozi yako", "kipindi chako").
_PURPOSES = {
    "course": ("course", "kozi yako"),
    "subscription": ("signal feed subscription", "usajili wako wa ishara"),
    "session": ("session", "kipindi chako"),
    "package": ("session package", "kifurushi chako cha vipindi"),
}
_WHO_CANCELLED = {"you": "wewe", "your mentor": "mshauri wako"}
_PACKAGE_REASONS = {"expired": "muda wake umeisha", "closed": "umekifunga"}
_PAYOUT_METHODS = {"bank": "benki"}
_REMINDER_LEADS = {"1h": ("1 hour", "saa 1"), "24h": ("24 hours", "saa 24")}
NO_KYC_REASON = ("the reviewer gave no reason", "mkaguzi hakutoa sababu")
# How a deposit came in: a card (through Stripe) is said in words; M-Pesa is a name.
_DEPOSIT_METHODS = {"stripe": ("card", "kadi"), "mpesa": ("M-Pesa", "M-Pesa")}
# What a badge is called (points grants them by code; social's share cards name them
# the same in English); an unknown code reads as its words.
_BADGES = {
    "first_lesson": ("First lesson completed", "Somo la kwanza limekamilika"),
    "first_assessment_passed": ("First assessment passed", "Tathmini ya kwanza imefaulu"),
    "streak_7_days": ("7-day learning streak", "Mfululizo wa siku 7 za kujifunza"),
    "first_profitable_paper_month": (
        "First profitable paper month",
        "Mwezi wa kwanza wa faida katika biashara ya majaribio",
    ),
}
# Refunds another notice already tells of (by the refund's reference): a cancelled
# session's (`session.refunded`), a closed package's (`package.closed`), and a card
# deposit the bank took back (`chargeback.closed`).
_REFUNDS_TOLD_ELSEWHERE = ("session:", "package:", "chargeback:")
# What a released escrow paid the mentor for, by the start of its reference (each payer's
# domain writes its own); anything else reads as their mentoring.
_EARNED_FROM = (
    ("session:", ("a session", "kipindi")),
    ("package:", ("a session package", "kifurushi cha vipindi")),
    ("cohort:", ("a course", "kozi")),
    ("signal feed subscription ", ("your signal feed", "ishara zako")),
    ("premium community group ", ("your premium group", "kikundi chako cha malipo")),
)
EARNED_FROM_MENTORING = ("your mentoring", "ushauri wako")
# What the payer paid into an escrow for, by the same prefixes, in a receipt's words (a
# package's per-session escrows aside: its receipt is the purchase's).
_PACKAGE_PREFIX = "package:"
_PAID_FOR = (
    ("session:", _PURPOSES["session"]),
    ("cohort:", _PURPOSES["course"]),
    ("signal feed subscription ", _PURPOSES["subscription"]),
    (
        "premium community group ",
        ("premium group membership", "uanachama wako wa kikundi cha malipo"),
    ),
)
PAID_FOR_MENTORING = ("mentoring", "ushauri wako")
# Why points' anti-abuse froze a member's earning (`PointsFrozen.reason`); another reason
# reads as its words, and a freeze without one as a review.
_FREEZE_REASONS = {
    "velocity": (
        "more points than our limit came in within a short time",
        "pointi nyingi kuliko kikomo chetu ziliingia kwa muda mfupi",
    ),
}
NO_FREEZE_REASON = ("our team is reviewing your account", "timu yetu inakagua akaunti yako")
UNNAMED_MEMBER = ("A member", "Mwanachama")
# What a person is once an admin gives them a role, and where the app opens for it.
_ROLES: dict[str, tuple[str, str, str]] = {
    Role.MENTEE: ("a mentee", "mwanafunzi", "/dashboard"),
    Role.MENTOR: ("a mentor", "mshauri", "/mentor"),
    Role.ADMIN: ("an administrator", "msimamizi", "/staff"),
    Role.REVIEWER: ("a reviewer", "mkaguzi", "/staff"),
    Role.OBSERVER: ("an observer", "mtazamaji", "/dashboard"),
}


def _notice(
    event: Event,
    user_id: uuid.UUID,
    kind: str,
    link: str | None,
    *,
    sw: dict[str, str] | None = None,
    **values: str,
) -> Notice:
    return Notice(
        user_id=user_id,
        kind=kind,
        dedupe_key=f"{kind}:{event.id}",
        values=values,
        link=link,
        translations={SWAHILI: sw} if sw else {},
    )


def _dates(**moments: datetime) -> tuple[dict[str, str], dict[str, str]]:
    """Each moment in English and in Swahili."""
    return (
        {name: format_datetime(at, "en") for name, at in moments.items()},
        {name: format_datetime(at, SWAHILI) for name, at in moments.items()},
    )


def _session_booked(event: Event) -> list[Notice]:
    booked = msgspec.convert(event.payload, SessionBooked)
    en, sw = _dates(starts_at=booked.starts_at)
    return [
        _notice(event, booked.mentee_id, "session_booked", "/sessions", sw=sw, **en),
        _notice(event, booked.mentor_id, "session_booked", "/mentor/sessions", sw=sw, **en),
    ]


def _session_cancelled(event: Event) -> list[Notice]:
    cancelled = msgspec.convert(event.payload, SessionCancelled)
    who = "you" if cancelled.cancelled_by == cancelled.mentee_id else "your mentor"
    return [
        _notice(
            event,
            cancelled.mentee_id,
            "session_cancelled",
            "/sessions",
            sw={
                "session_day": format_day(event.created_at.date(), SWAHILI),
                "who": _WHO_CANCELLED[who],
            },
            session_day=format_day(event.created_at.date(), "en"),
            who=who,
        )
    ]


def _session_reminder(event: Event) -> list[Notice]:
    reminder = msgspec.convert(event.payload, SessionReminder)
    hours = reminder.lead.removesuffix("h")
    lead_en, lead_sw = _REMINDER_LEADS.get(reminder.lead, (f"{hours} hours", f"saa {hours}"))
    en, sw = _dates(starts_at=reminder.starts_at)
    return [
        _notice(
            event,
            reminder.user_id,
            "session_reminder",
            "/sessions",
            sw={**sw, "lead": lead_sw},
            lead=lead_en,
            title=reminder.title,
            **en,
        )
    ]


def _escrow_receipt_key(escrow_id: uuid.UUID) -> str:
    """One receipt per escrow payment: a charge paid into escrow (`PaymentCaptured` with
    its `escrow_id`) and the escrow's own `EscrowHeld` tell of the same money."""
    return f"payment_receipt:escrow:{escrow_id}"


def _payment_captured(event: Event) -> list[Notice]:
    paid = msgspec.convert(event.payload, PaymentCaptured)
    purpose_en, purpose_sw = _PURPOSES.get(paid.purpose, (paid.purpose, paid.purpose))
    notice = _notice(
        event,
        paid.user_id,
        "payment_receipt",
        "/wallet",
        sw={"purpose": purpose_sw},
        amount=format_money(paid.amount_minor, paid.currency),
        purpose=purpose_en,
        reference=paid.reference,
    )
    if paid.escrow_id is not None:
        notice = dataclasses.replace(notice, dedupe_key=_escrow_receipt_key(paid.escrow_id))
    return [notice]


def _escrow_held(event: Event) -> list[Notice]:
    """The receipt for what a member paid into escrow: a session, package, course, signal
    feed or premium group bought from their wallet, named by its invoice."""
    held = msgspec.convert(event.payload, EscrowHeld)
    if held.reference.startswith(_PACKAGE_PREFIX):
        return []  # one escrow per session of a package: its receipt is the purchase's
    purpose_en, purpose_sw = next(
        (words for prefix, words in _PAID_FOR if held.reference.startswith(prefix)),
        PAID_FOR_MENTORING,
    )
    notice = _notice(
        event,
        held.payer_id,
        "payment_receipt",
        "/wallet",
        sw={"purpose": purpose_sw},
        amount=format_money(held.amount_minor, held.currency),
        purpose=purpose_en,
        reference=held.invoice_number,
    )
    return [dataclasses.replace(notice, dedupe_key=_escrow_receipt_key(held.escrow_id))]


def _package_purchased(event: Event) -> list[Notice]:
    """One receipt for a package: its price was paid once, though held in one escrow per
    session."""
    bought = msgspec.convert(event.payload, PackagePurchased)
    if bought.amount_minor <= 0:
        return []
    purpose_en, purpose_sw = _PURPOSES["package"]
    return [
        _notice(
            event,
            bought.mentee_id,
            "payment_receipt",
            "/wallet",
            sw={"purpose": purpose_sw, "reference": f"vipindi {bought.sessions}"},
            amount=format_money(bought.amount_minor, bought.currency),
            purpose=purpose_en,
            reference=f"{bought.sessions} sessions",
        )
    ]


def _package_closed(event: Event) -> list[Notice]:
    closed = msgspec.convert(event.payload, PackageClosed)
    if closed.unused == 0:
        return []
    return [
        _notice(
            event,
            closed.mentee_id,
            "package_refunded",
            "/wallet",
            sw={"reason": _PACKAGE_REASONS.get(closed.reason, closed.reason.replace("_", " "))},
            reason=closed.reason.replace("_", " "),
            unused=str(closed.unused),
            amount=format_money(closed.refunded_minor, closed.currency),
        )
    ]


def _payout_completed(event: Event) -> list[Notice]:
    payout = msgspec.convert(event.payload, PayoutCompleted)
    return [
        _notice(
            event,
            payout.user_id,
            "payout_sent",
            "/wallet",
            sw={"method": _PAYOUT_METHODS.get(payout.method, payout.method.replace("_", " "))},
            amount=format_money(payout.amount_minor, payout.currency),
            method=payout.method.replace("_", " "),
        )
    ]


def _payout_needs_review(event: Event) -> list[Notice]:
    held = msgspec.convert(event.payload, PayoutNeedsReview)
    return [
        _notice(
            event,
            held.user_id,
            "payout_under_review",
            "/wallet",
            amount=format_money(held.amount_minor, held.currency),
        )
    ]


def _payout_failed(event: Event) -> list[Notice]:
    payout = msgspec.convert(event.payload, PayoutFailed)
    return [
        _notice(
            event,
            payout.user_id,
            "payout_failed",
            "/wallet",
            amount=format_money(payout.amount_minor, payout.currency),
            reason=payout.reason.replace("_", " "),
        )
    ]


def _payment_failed(event: Event) -> list[Notice]:
    due = msgspec.convert(event.payload, SubscriptionPastDue)
    return [
        _notice(
            event,
            uuid.UUID(due.subscriber_id),
            "payment_failed",
            "/wallet",
            sw={"period": f"awamu ya {due.period}"},
            amount=format_money(due.amount_minor, due.currency),
            period=f"period {due.period}",
        )
    ]


def _session_rescheduled(event: Event) -> list[Notice]:
    moved = msgspec.convert(event.payload, SessionRescheduled)
    if moved.mentee_id is None or moved.mentor_id is None:
        return []  # written before the event named its people
    en, sw = _dates(starts_at=moved.starts_at)
    return [
        _notice(event, moved.mentee_id, "session_rescheduled", "/sessions", sw=sw, **en),
        _notice(event, moved.mentor_id, "session_rescheduled", "/mentor/sessions", sw=sw, **en),
    ]


def _session_rated(event: Event) -> list[Notice]:
    """A mentee's rating reaches the session's mentor; the mentor's own rating of a mentee
    (and an event written before it named the mentor) tells nobody."""
    rated = msgspec.convert(event.payload, SessionRated)
    if rated.mentor_id is None or rated.rated_id != rated.mentor_id:
        return []
    return [
        _notice(
            event, rated.mentor_id, "session_rated", "/mentor/sessions", rating=str(rated.rating)
        )
    ]


def _session_refunded(event: Event) -> list[Notice]:
    refunded = msgspec.convert(event.payload, SessionRefunded)
    amount = format_money(refunded.amount_minor, refunded.currency)
    return [_notice(event, refunded.mentee_id, "session_refunded", "/wallet", amount=amount)]


def _refund_issued(event: Event) -> list[Notice]:
    refund = msgspec.convert(event.payload, RefundIssued)
    if refund.reference.startswith(_REFUNDS_TOLD_ELSEWHERE):
        return []
    amount = format_money(refund.amount_minor, refund.currency)
    return [_notice(event, refund.user_id, "refund_issued", "/wallet", amount=amount)]


def _escrow_released(event: Event) -> list[Notice]:
    released = msgspec.convert(event.payload, EscrowReleased)
    if released.mentor_minor <= 0:
        return []  # the release kept nothing for the mentor (a full refund's remainder)
    purpose_en, purpose_sw = next(
        (words for prefix, words in _EARNED_FROM if released.reference.startswith(prefix)),
        EARNED_FROM_MENTORING,
    )
    return [
        _notice(
            event,
            released.mentor_id,
            "earnings_released",
            "/wallet",
            sw={"purpose": purpose_sw},
            amount=format_money(released.mentor_minor, released.currency),
            purpose=purpose_en,
        )
    ]


def _points_frozen(event: Event) -> list[Notice]:
    frozen = msgspec.convert(event.payload, points.PointsFrozen)
    words = frozen.reason.replace("_", " ")
    reason_en, reason_sw = _FREEZE_REASONS.get(
        frozen.reason, (words, words) if words.strip() else NO_FREEZE_REASON
    )
    return [
        _notice(
            event,
            uuid.UUID(frozen.user_id),
            "points_frozen",
            "/points",
            sw={"reason": reason_sw},
            points=f"{frozen.points:,}",
            reason=reason_en,
        )
    ]


def _points_clawed_back(event: Event) -> list[Notice]:
    clawed = msgspec.convert(event.payload, points.PointsClawedBack)
    if clawed.points <= 0:
        return []  # nothing was taken (the balance was already empty)
    return [
        _notice(
            event,
            uuid.UUID(clawed.user_id),
            "points_clawed_back",
            "/points",
            sw={"reason": points.describe_reason(clawed.reason_code, SWAHILI)},
            points=f"{clawed.points:,}",
            reason=points.describe_reason(clawed.reason_code, "en"),
        )
    ]


def _commission_accrued(event: Event) -> list[Notice]:
    accrued = msgspec.convert(event.payload, AffiliateCommissionAccrued)
    if accrued.amount_minor <= 0:
        return []
    return [
        _notice(
            event,
            uuid.UUID(accrued.affiliate_id),
            "affiliate_commission",
            "/affiliate",
            amount=format_money(accrued.amount_minor, accrued.currency),
        )
    ]


def _deposit_completed(event: Event) -> list[Notice]:
    deposit = msgspec.convert(event.payload, DepositCompleted)
    method_en, method_sw = _DEPOSIT_METHODS.get(deposit.method, (deposit.method, deposit.method))
    return [
        _notice(
            event,
            deposit.user_id,
            "deposit_completed",
            "/wallet",
            sw={"method": method_sw},
            amount=format_money(deposit.amount_minor, deposit.currency),
            method=method_en,
        )
    ]


def _chargeback_opened(event: Event) -> list[Notice]:
    opened = msgspec.convert(event.payload, ChargebackOpened)
    return [
        _notice(
            event,
            opened.user_id,
            "chargeback_opened",
            "/wallet",
            amount=format_money(opened.amount_minor, opened.currency),
            held=format_money(opened.held_minor, opened.currency),
        )
    ]


def _chargeback_closed(event: Event) -> list[Notice]:
    closed = msgspec.convert(event.payload, ChargebackClosed)
    amount = format_money(closed.amount_minor, closed.currency)
    if closed.status != "lost":
        return [_notice(event, closed.user_id, "chargeback_won", "/wallet", amount=amount)]
    return [
        _notice(
            event,
            closed.user_id,
            "chargeback_lost",
            "/wallet",
            amount=amount,
            held=format_money(closed.held_minor, closed.currency),
            unrecovered=format_money(closed.unrecovered_minor, closed.currency),
        )
    ]


def _subscription_lapsed(event: Event) -> list[Notice]:
    lapsed = msgspec.convert(event.payload, SubscriptionLapsed)
    return [
        _notice(
            event,
            uuid.UUID(lapsed.subscriber_id),
            "subscription_lapsed",
            f"/signals?mentor={lapsed.mentor_id}",
            sw={"period": f"awamu ya {lapsed.period}"},
            amount=format_money(lapsed.amount_minor, lapsed.currency),
            period=f"period {lapsed.period}",
        )
    ]


def _badge_earned(event: Event) -> list[Notice]:
    earned = msgspec.convert(event.payload, points.BadgeEarned)
    words = earned.badge.replace("_", " ").capitalize()
    badge_en, badge_sw = _BADGES.get(earned.badge, (words, words))
    return [
        _notice(
            event,
            uuid.UUID(earned.user_id),
            "badge_earned",
            "/points",
            sw={"badge": badge_sw},
            badge=badge_en,
        )
    ]


def _certificate_granted(event: Event) -> list[Notice]:
    granted = msgspec.convert(event.payload, CertificateGranted)
    return [
        _notice(
            event,
            granted.user_id,
            "certificate_granted",
            granted.verification_url,
            certificate_id=granted.certificate_id,
            verification_url=granted.verification_url,
        )
    ]


def _kyc_approved(event: Event) -> list[Notice]:
    approved = msgspec.convert(event.payload, KycApproved)
    return [_notice(event, approved.user_id, "kyc_approved", "/kyc", level=str(approved.level))]


def _kyc_rejected(event: Event) -> list[Notice]:
    rejected = msgspec.convert(event.payload, KycRejected)
    return [
        _notice(
            event,
            rejected.user_id,
            "kyc_rejected",
            "/kyc",
            # The reviewer's own words stay as written; only their absence is ours to say.
            sw={
                "doc_type": document_name(rejected.doc_type, SWAHILI),
                **({} if rejected.reason else {"reason": NO_KYC_REASON[1]}),
            },
            doc_type=document_name(rejected.doc_type, "en"),
            reason=rejected.reason or NO_KYC_REASON[0],
        )
    ]


def _role_changed(event: Event) -> list[Notice]:
    """Told even when the person asked for it: an unexpected role is an account security
    matter (the account category cannot be switched off). A role set to what it was tells
    nobody."""
    changed = msgspec.convert(event.payload, UserRoleChanged)
    if changed.previous == changed.role:
        return []
    words = changed.role.replace("_", " ")
    role_en, role_sw, link = _ROLES.get(changed.role, (words, words, "/account"))
    return [
        _notice(event, changed.user_id, "role_changed", link, sw={"role": role_sw}, role=role_en)
    ]


def _tier_changed(event: Event) -> list[Notice]:
    changed = msgspec.convert(event.payload, points.TierChanged)
    order = [t.lower() for t in ("bronze", "silver", "gold", "legend")]
    rose = (
        changed.tier in order
        and changed.previous in order
        and order.index(changed.tier) > order.index(changed.previous)
    )
    if not rose:
        return []  # a tier lost to inactivity is shown on the points page, not announced
    return [
        _notice(
            event,
            uuid.UUID(changed.user_id),
            "tier_reached",
            "/points",
            tier=changed.tier.title(),
            previous=changed.previous.title(),
        )
    ]


def _points_awarded(event: Event, email_on_award: bool) -> list[Notice]:
    award = points.award_message(event.payload)
    swahili = points.award_message(event.payload, SWAHILI)
    if award is None or swahili is None:
        return []
    # The Swahili award: its title and text in-app, its e-mail's values by name (the two
    # sets of names do not meet: the in-app text is whole, the e-mail fills its own).
    in_swahili: dict[str, str] = {"title": swahili.title, "body": swahili.text, **swahili.values}
    return [
        Notice(
            user_id=award.user_id,
            kind="points_awarded",
            dedupe_key=f"points_awarded:{award.entry_id}",
            values={"title": award.title, "body": award.text},
            link="/points",
            email=award.email if email_on_award else None,
            email_values=award.values,
            translations={SWAHILI: in_swahili},
            email_translations={SWAHILI: swahili.email}
            if email_on_award and swahili.email is not None
            else {},
        )
    ]


async def _signal_published(conn: Connection, platform: Platform, event: Event) -> list[Notice]:
    signal = msgspec.convert(event.payload, SignalPublished)
    mentor_id = uuid.UUID(signal.mentor_id)
    followers = await feed_subscribers(conn, mentor_id)
    if not followers:
        return []
    named = (await display_names(conn, platform.settings, [mentor_id])).get(mentor_id)
    side = signal.side.upper()
    # A mentor without a name on file is "a mentor", in the reader's language.
    unnamed = {SWAHILI: {"mentor": "Mshauri"}} if named is None else {}
    return [
        Notice(
            user_id=follower,
            kind="signal_published",
            dedupe_key=f"signal_published:{signal.signal_id}",
            values={"symbol": signal.symbol, "side": side, "mentor": named or "A mentor"},
            link=f"/signals?mentor={mentor_id}",
            translations=unnamed,
        )
        for follower in followers
    ]


def _post_created(event: Event) -> list[Notice]:
    """A mention notifies each member mentioned; a reply notifies the topic's author
    (once: a reply that also mentions them is a mention)."""
    post = msgspec.convert(event.payload, PostCreated)
    link = f"/community/t/{post.topic_id}#post-{post.seq}"
    author, title = post.author_handle, post.topic_title
    mentioned = [uuid.UUID(u) for u in post.mentioned_ids]
    notices = [
        _notice(event, u, "community_mention", link, author=author, title=title) for u in mentioned
    ]
    topic_author = uuid.UUID(post.topic_author_id)
    if post.seq > 1 and topic_author != uuid.UUID(post.author_id) and topic_author not in mentioned:
        notices.append(
            _notice(event, topic_author, "community_reply", link, author=author, title=title)
        )
    return notices


def _post_mentioned(event: Event) -> list[Notice]:
    """An edit's new mentions: each member it now mentions, as a new post's mention."""
    post = msgspec.convert(event.payload, PostMentioned)
    link = f"/community/t/{post.topic_id}#post-{post.seq}"
    return [
        _notice(
            event,
            uuid.UUID(u),
            "community_mention",
            link,
            author=post.author_handle,
            title=post.topic_title,
        )
        for u in post.mentioned_ids
    ]


_MODERATION_HEADLINES = {
    "held": "Your post in \u201c{title}\u201d is held for review",
    "hidden": "Your post in \u201c{title}\u201d is hidden for review",
    "approved": "Your post in \u201c{title}\u201d is published",
    "edited": "A moderator edited and published your post in \u201c{title}\u201d",
    "deleted": "A moderator deleted your post in \u201c{title}\u201d",
    "warned": "A moderator warned you about your post in \u201c{title}\u201d",
    "suspended": "You are suspended from posting until {until}",
}
MODERATION_HEADLINES_SW = {
    "held": "Chapisho lako katika \u201c{title}\u201d limesimamishwa ili likaguliwe",
    "hidden": "Chapisho lako katika \u201c{title}\u201d limefichwa ili likaguliwe",
    "approved": "Chapisho lako katika \u201c{title}\u201d limechapishwa",
    "edited": "Msimamizi amehariri na kuchapisha chapisho lako katika \u201c{title}\u201d",
    "deleted": "Msimamizi amefuta chapisho lako katika \u201c{title}\u201d",
    "warned": "Msimamizi amekuonya kuhusu chapisho lako katika \u201c{title}\u201d",
    "suspended": "Umezuiwa kuchapisha hadi {until}",
}
_REVIEWED = ("Your post was reviewed", "Chapisho lako limekaguliwa")


def _post_moderated(event: Event) -> list[Notice]:
    """The author of a moderated post is told what happened and why (and may appeal from
    the topic, once)."""
    moderated = msgspec.convert(event.payload, PostModerated)
    until = datetime.fromisoformat(moderated.until) if moderated.until else None
    headline = _MODERATION_HEADLINES.get(moderated.action, _REVIEWED[0]).format(
        title=moderated.topic_title, until=format_datetime(until, "en") if until else ""
    )
    headline_sw = MODERATION_HEADLINES_SW.get(moderated.action, _REVIEWED[1]).format(
        title=moderated.topic_title, until=format_datetime(until, SWAHILI) if until else ""
    )
    # The screen's reasons come in Swahili too; a moderator's own words stay as written.
    sw = {"headline": headline_sw}
    if moderated.reason_sw:
        sw["reason"] = moderated.reason_sw
    return [
        _notice(
            event,
            uuid.UUID(moderated.author_id),
            "community_moderation",
            f"/community/t/{moderated.topic_id}#post-{moderated.seq}",
            sw=sw,
            headline=headline,
            reason=moderated.reason,
        )
    ]


async def _staff_alert(conn: Connection, event: Event) -> list[Notice]:
    """Every active reviewer and admin hears of each alert once (keyed by the alert)."""
    raised = msgspec.convert(event.payload, admin.StaffAlertRaised)
    staff = [
        *await active_accounts_with_role(conn, Role.ADMIN),
        *await active_accounts_with_role(conn, Role.REVIEWER),
    ]
    return [
        Notice(
            user_id=member.id,
            kind="staff_alert",
            dedupe_key=f"staff_alert:{raised.alert_id}",
            values={"title": raised.title, "summary": raised.summary},
            link="/staff/alerts",
        )
        for member in staff
    ]


async def _chat_message(conn: Connection, platform: Platform, event: Event) -> list[Notice]:
    """The recipient of a chat message hears of it once per burst: the notice is keyed by
    how far they had read when it was sent, so every message until they read shares one
    key (a retry too), and reading opens the next. Nothing when they have read it by now
    (they were in the conversation), nor while the conversation is blocked or declined."""
    sent = msgspec.convert(event.payload, ChatMessageSent)
    conv = await chat_store.conversation(conn, sent.conversation_id)
    if (
        conv is None
        or conv.blocked_by is not None
        or conv.status is ChatStatus.DECLINED
        or conv.read_seq_of(sent.recipient_id) >= sent.seq
    ):
        return []
    named = (await display_names(conn, platform.settings, [sent.sender_id])).get(sent.sender_id)
    kind = "chat_request" if sent.request else "chat_message"
    return [
        Notice(
            user_id=sent.recipient_id,
            kind=kind,
            dedupe_key=f"{kind}:{sent.conversation_id}:{sent.recipient_read_seq}",
            values={"sender": named or UNNAMED_MEMBER[0]},
            link=f"/chat?c={sent.conversation_id}",
            translations={} if named else {SWAHILI: {"sender": UNNAMED_MEMBER[1]}},
        )
    ]


_PLAIN: dict[str, Callable[[Event], list[Notice]]] = {
    SessionBooked.topic: _session_booked,
    SessionCancelled.topic: _session_cancelled,
    SessionReminder.topic: _session_reminder,
    PaymentCaptured.topic: _payment_captured,
    PackagePurchased.topic: _package_purchased,
    PackageClosed.topic: _package_closed,
    PayoutCompleted.topic: _payout_completed,
    PayoutNeedsReview.topic: _payout_needs_review,
    PayoutFailed.topic: _payout_failed,
    SubscriptionPastDue.topic: _payment_failed,
    KycApproved.topic: _kyc_approved,
    KycRejected.topic: _kyc_rejected,
    UserRoleChanged.topic: _role_changed,
    points.TierChanged.topic: _tier_changed,
    PostCreated.topic: _post_created,
    PostMentioned.topic: _post_mentioned,
    PostModerated.topic: _post_moderated,
    SessionRescheduled.topic: _session_rescheduled,
    SessionRefunded.topic: _session_refunded,
    SessionRated.topic: _session_rated,
    RefundIssued.topic: _refund_issued,
    DepositCompleted.topic: _deposit_completed,
    EscrowHeld.topic: _escrow_held,
    EscrowReleased.topic: _escrow_released,
    AffiliateCommissionAccrued.topic: _commission_accrued,
    ChargebackOpened.topic: _chargeback_opened,
    ChargebackClosed.topic: _chargeback_closed,
    SubscriptionLapsed.topic: _subscription_lapsed,
    points.BadgeEarned.topic: _badge_earned,
    points.PointsFrozen.topic: _points_frozen,
    points.PointsClawedBack.topic: _points_clawed_back,
    CertificateGranted.topic: _certificate_granted,
}

CONSUMED_TOPICS = frozenset(
    {
        *_PLAIN,
        points.POINTS_AWARDED,
        SignalPublished.topic,
        admin.StaffAlertRaised.topic,
        ChatMessageSent.topic,
    }
)


async def notify(conn: Connection, platform: Platform, batch: Sequence[Event]) -> None:
    """Consumer `notifications.workflows`: every event of the batch → its notices, written,
    sent and published in one pass (one insert for a signal's thousands of followers)."""
    notices: list[Notice] = []
    for event in batch:
        if event.topic == points.POINTS_AWARDED:
            notices += _points_awarded(event, platform.settings.points_email_on_award)
        elif event.topic == SignalPublished.topic:
            notices += await _signal_published(conn, platform, event)
        elif event.topic == admin.StaffAlertRaised.topic:
            notices += await _staff_alert(conn, event)
        elif event.topic == ChatMessageSent.topic:
            notices += await _chat_message(conn, platform, event)
        elif (recipe := _PLAIN.get(event.topic)) is not None:
            notices += recipe(event)
    await deliver_notices(conn, platform, notices)
