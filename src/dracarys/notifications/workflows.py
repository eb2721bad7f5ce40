"""The notification workflows (issue 20 item 1), as data: one per kind of notification,
saying its category (what a person switches on and off), its priority, the channels it
may use and the templates it renders. Consumers of domain events (`consumers.py`) turn
an event into `Notice`s of a kind; everything after that reads this table.

Priority decides timing: `critical` is never held by quiet hours; `low` goes to e-mail
only through the daily digest. Categories in `LOCKED_CATEGORIES` (account security and
payment problems) cannot be switched off, on any channel. SMS goes to verified phones
only, and only for the kinds that list it (payment failed, KYC decision, withdrawal
sent). Push (issue 20 item 4) is offered wherever a workflow shows in the app: it carries
the in-app title, body and link, so no workflow lists push texts of its own."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dracarys.messaging import EmailTemplate, SmsTemplate


class Channel(StrEnum):
    IN_APP = "in_app"
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"


class Priority(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class Category(StrEnum):
    ACCOUNT = "account"
    PAYMENT_PROBLEMS = "payment_problems"
    PAYMENTS = "payments"
    SESSIONS = "sessions"
    SIGNALS = "signals"
    REWARDS = "rewards"
    COMMUNITY = "community"
    CHAT = "chat"


CATEGORY_LABELS: dict[Category, str] = {
    Category.ACCOUNT: "Account and security",
    Category.PAYMENT_PROBLEMS: "Payment problems",
    Category.PAYMENTS: "Payments and payouts",
    Category.SESSIONS: "Sessions",
    Category.SIGNALS: "Signals from mentors you follow",
    Category.REWARDS: "Points, tiers, badges and certificates",
    Category.COMMUNITY: "Community replies and mentions",
    Category.CHAT: "Chat messages",
}

LOCKED_CATEGORIES = frozenset({Category.ACCOUNT, Category.PAYMENT_PROBLEMS})


@dataclass(frozen=True, slots=True)
class Workflow:
    kind: str
    category: Category
    priority: Priority
    channels: frozenset[Channel]
    # In-app title and body, `string.Template` placeholders filled from the notice.
    title: str
    body: str
    # None with EMAIL among the channels: each notice brings its own template.
    email: EmailTemplate | None = None
    sms: SmsTemplate | None = None

    @property
    def critical(self) -> bool:
        return self.priority is Priority.CRITICAL

    @property
    def offered(self) -> frozenset[Channel]:
        """Its channels, and push wherever it shows in the app."""
        if Channel.IN_APP in self.channels:
            return self.channels | {Channel.PUSH}
        return self.channels


_FOOTER = "\n\nChoose what we send you: $base_url/notifications/preferences"


def _email(kind: str, subject: str, text: str) -> EmailTemplate:
    return EmailTemplate(name=f"notify.{kind}", subject=subject, text=text + _FOOTER)


def _workflow(
    kind: str,
    category: Category,
    priority: Priority,
    title: str,
    body: str,
    *,
    email: bool = True,
    sms: str | None = None,
    in_app: bool = True,
) -> Workflow:
    channels = {Channel.IN_APP} if in_app else set()
    if email:
        channels.add(Channel.EMAIL)
    if sms:
        channels.add(Channel.SMS)
    return Workflow(
        kind=kind,
        category=category,
        priority=priority,
        channels=frozenset(channels),
        title=title,
        body=body,
        email=_email(kind, title, body) if email else None,
        sms=SmsTemplate(name=f"notify.{kind}", text=sms) if sms else None,
    )


_S, _P, _A = Category.SESSIONS, Category.PAYMENTS, Category.ACCOUNT

# What a category sends outside its workflows: identity e-mails account security notices
# itself (e-mail confirmation, password reset and change, suspension) and each KYC
# decision, so the account category keeps its e-mail channel beside the workflows that
# list it (staff alerts, role changes).
SENT_OUTSIDE_WORKFLOWS: frozenset[tuple[Category, Channel]] = frozenset(
    {(Category.ACCOUNT, Channel.EMAIL)}
)
_CRIT, _HIGH, _NORM, _LOW = Priority.CRITICAL, Priority.HIGH, Priority.NORMAL, Priority.LOW

WORKFLOWS: dict[str, Workflow] = {
    w.kind: w
    for w in (
        _workflow(
            "session_booked",
            _S,
            _HIGH,
            "Session booked",
            "Your session on $starts_at is booked. It is on your sessions page.",
        ),
        _workflow(
            "session_rescheduled",
            _S,
            _HIGH,
            "Session moved",
            "Your session now starts on $starts_at. It is on your sessions page.",
        ),
        _workflow(
            "session_cancelled",
            _S,
            _HIGH,
            "Session cancelled",
            "The session on $session_day was cancelled by $who. Any payment goes back to "
            "where it came from.",
        ),
        # Mentorship queues the reminder e-mail itself, with the session's details.
        _workflow(
            "session_reminder",
            _S,
            _NORM,
            "Session in $lead",
            "Your session \u201c$title\u201d starts at $starts_at.",
            email=False,
        ),
        # A mentee rated the mentor's session: worth knowing, never urgent, so the e-mail
        # waits for the daily digest.
        _workflow(
            "session_rated",
            _S,
            _LOW,
            "New rating: $rating of 5 stars",
            "A mentee rated your session $rating of 5 stars. Your sessions are on your "
            "teaching sessions page.",
        ),
        _workflow(
            "payment_receipt",
            _P,
            _NORM,
            "Payment received: $amount",
            "We received $amount for your $purpose ($reference). Your receipts are on the "
            "wallet page.",
        ),
        _workflow(
            "package_refunded",
            _P,
            _NORM,
            "Unused sessions refunded",
            "Your package closed ($reason): $unused unused session(s), $amount back to "
            "your wallet.",
        ),
        _workflow(
            "payout_sent",
            _P,
            _CRIT,
            "Withdrawal sent: $amount",
            "Your withdrawal of $amount by $method is on its way.",
            sms="Dracarys: your withdrawal of $amount is on its way.",
        ),
        # A payout M-Pesa's answer did not settle is held for an admin (its reason is for
        # staff); the member is told it waits, then told the outcome (sent or failed).
        _workflow(
            "payout_under_review",
            _P,
            _HIGH,
            "Withdrawal being checked: $amount",
            "Your withdrawal of $amount is being checked by our team before we settle it. "
            "The money stays reserved; we will tell you when it is sent or back in your "
            "wallet.",
        ),
        _workflow(
            "payout_failed",
            Category.PAYMENT_PROBLEMS,
            _CRIT,
            "Withdrawal failed: $amount",
            "Your withdrawal of $amount could not be sent ($reason). The money is back in "
            "your wallet.",
            sms="Dracarys: your withdrawal of $amount failed. The money is back in your wallet.",
        ),
        # Trading e-mails the past-due notice itself (naming the mentor and the week of
        # grace, in the subscriber's language): an e-mail here too sent two for one.
        _workflow(
            "payment_failed",
            Category.PAYMENT_PROBLEMS,
            _CRIT,
            "Payment failed: $amount",
            "We could not take $amount for your signal feed subscription ($period). Top up "
            "your wallet to keep it.",
            email=False,
            sms="Dracarys: we could not take $amount for your signal feed. Top up your "
            "wallet to keep it.",
        ),
        _workflow(
            "subscription_lapsed",
            _P,
            _HIGH,
            "Signal feed subscription ended",
            "$amount for your signal feed subscription ($period) stayed unpaid for a week, so "
            "the subscription ended. You can subscribe again from the mentor's page.",
        ),
        _workflow(
            "session_refunded",
            _P,
            _NORM,
            "Session refunded: $amount",
            "$amount paid for your cancelled session has been given back.",
        ),
        # Money back that no other notice tells of (a refunded charge, cohort or card
        # deposit): a cancelled session's refund is `session_refunded`, a package's is
        # `package_refunded`, and a lost chargeback is `chargeback_lost`.
        _workflow(
            "refund_issued",
            _P,
            _NORM,
            "Refund: $amount",
            "$amount was refunded to you. Your refunds and receipts are on the wallet page.",
        ),
        # A mentor's side of a paid session, package, course, feed or premium group.
        _workflow(
            "earnings_released",
            _P,
            _NORM,
            "Earnings: $amount",
            "You earned $amount from $purpose. Your earnings are on the wallet page.",
        ),
        # Pending until the refund window closes (a refund in it reduces or voids it), so
        # the text says earned, not paid; the affiliate page shows when it is payable.
        _workflow(
            "affiliate_commission",
            _P,
            _NORM,
            "Commission earned: $amount",
            "A member you referred made a payment, and you earned $amount in commission. It "
            "becomes payable once the refund window closes; see your affiliate page.",
        ),
        _workflow(
            "deposit_completed",
            _P,
            _NORM,
            "Deposit received: $amount",
            "Your deposit of $amount by $method is in your wallet.",
        ),
        _workflow(
            "chargeback_opened",
            Category.PAYMENT_PROBLEMS,
            _HIGH,
            "Card deposit disputed: $amount",
            "Your bank disputed your card deposit of $amount. While it decides, $held is held "
            "in your wallet.",
        ),
        _workflow(
            "chargeback_won",
            Category.PAYMENT_PROBLEMS,
            _HIGH,
            "Card dispute closed: $amount stays yours",
            "The bank decided the dispute about your card deposit of $amount for us: the hold "
            "on your wallet is released.",
        ),
        _workflow(
            "chargeback_lost",
            Category.PAYMENT_PROBLEMS,
            _HIGH,
            "Card dispute closed: $amount returned to your card",
            "The bank returned your card deposit of $amount to your card, so it was taken back "
            "from your wallet ($held that was held, and $unrecovered it could not cover).",
        ),
        # Identity e-mails each decision itself, naming the document (and the reviewer's
        # reason for a rejection): an e-mail here too sent two for one approval.
        _workflow(
            "kyc_approved",
            _A,
            _CRIT,
            "Identity verified",
            "Your documents are approved: you are now at verification level $level.",
            email=False,
            sms="Dracarys: your identity check is approved (level $level).",
        ),
        _workflow(
            "kyc_rejected",
            _A,
            _CRIT,
            "Identity document rejected",
            "Your $doc_type was not accepted: $reason. You can upload a new one.",
            email=False,
            sms="Dracarys: your identity document was not accepted. See your account.",
        ),
        # An admin changed the person's role: told in the locked account category, since
        # a role they did not expect (staff rights above all) is a security matter.
        _workflow(
            "role_changed",
            _A,
            _HIGH,
            "You are now $role",
            "An administrator changed your role: you are now $role, and what you can do on "
            "Dracarys changes with it. If you did not expect this, contact support.",
        ),
        # Award e-mails are points' own section-14 templates (see `consumers.py`).
        # E-mail through points' own section-14 template for the reason, when it has one.
        Workflow(
            kind="points_awarded",
            category=Category.REWARDS,
            priority=_NORM,
            channels=frozenset({Channel.IN_APP, Channel.EMAIL}),
            title="$title",
            body="$body",
        ),
        # Points' anti-abuse paused the member's earning (an award refused, more held back
        # until staff review it): high, since what they do next earns nothing meanwhile.
        _workflow(
            "points_frozen",
            Category.REWARDS,
            _HIGH,
            "Points earning paused",
            "We paused your points earning while we review your account, so $points points "
            "were not added ($reason). If you think this is a mistake, contact support or "
            "appeal from your points page.",
        ),
        # A refund of what they were earned on, or what they were earned for undone.
        _workflow(
            "points_clawed_back",
            Category.REWARDS,
            _NORM,
            "$points points taken back",
            "$points points were taken back from your balance ($reason). Your history is on "
            "your points page.",
        ),
        _workflow(
            "tier_reached",
            Category.REWARDS,
            _NORM,
            "You reached $tier",
            "You moved up from $previous to $tier. See what it unlocks on your points page.",
        ),
        _workflow(
            "badge_earned",
            Category.REWARDS,
            _NORM,
            "Badge earned: $badge",
            "You earned the \u201c$badge\u201d badge. It is on your points page, ready to share.",
        ),
        _workflow(
            "certificate_granted",
            Category.REWARDS,
            _HIGH,
            "Certificate earned",
            "You completed a program and earned certificate $certificate_id. Anyone can check "
            "it at $verification_url",
        ),
        _workflow(
            "signal_published",
            Category.SIGNALS,
            _LOW,
            "New signal: $symbol $side",
            "$mentor, whom you follow, published a $side signal on $symbol.",
        ),
        _workflow(
            "community_reply",
            Category.COMMUNITY,
            _LOW,
            "New reply: $title",
            "@$author replied to your topic \u201c$title\u201d.",
        ),
        # To every reviewer and admin; in the locked account category, so staff cannot
        # switch off what they are on duty for.
        Workflow(
            kind="staff_alert",
            category=_A,
            priority=_CRIT,
            channels=frozenset({Channel.IN_APP, Channel.EMAIL}),
            title="Alert: $title",
            body="$summary Acknowledge it on the alerts page.",
            email=_email(
                "staff_alert",
                "Alert: $title",
                "$summary\n\nAcknowledge it on the alerts page: $base_url/staff/alerts",
            ),
        ),
        _workflow(
            "community_mention",
            Category.COMMUNITY,
            _NORM,
            "@$author mentioned you",
            "@$author mentioned you in \u201c$title\u201d.",
        ),
        # Moderation tells the author what happened to their post and why (`$reason` is
        # the sentence moderation wrote: the screen's, or the moderator's words).
        _workflow(
            "community_moderation",
            Category.COMMUNITY,
            _NORM,
            "$headline",
            "$reason",
        ),
        # One notice per conversation until its recipient reads it (however many messages
        # a burst has); e-mail only through the daily digest: chat is live, the inbox
        # and push tell someone who is away.
        _workflow(
            "chat_message",
            Category.CHAT,
            _LOW,
            "New message from $sender",
            "$sender sent you a message. Open the conversation to read and answer it.",
        ),
        _workflow(
            "chat_request",
            Category.CHAT,
            _NORM,
            "Message request from $sender",
            "$sender would like to talk with you. Accept or decline on your messages page.",
        ),
    )
}
