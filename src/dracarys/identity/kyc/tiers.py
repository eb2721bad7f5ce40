"""The KYC tiers, as data: what each level needs (verified contact details, then approved
documents) and what it unlocks elsewhere on the platform, with the limits in force.

Identity owns KYC levels, so the level each gated action needs is defined here, once:
the `KYC_LEVEL_*` constants. The amounts come from the settings the enforcing domain reads
(the wallet's daily withdrawal limit and step-up threshold, the points hold): identity
cannot import the wallet or points, which depend on identity, so it reads the same
settings fields rather than a copy of their values."""

from __future__ import annotations

from dataclasses import dataclass

from dracarys.identity.kyc.models import (
    KycDocumentRules,
    KycLimit,
    KycRequirement,
    KycTier,
    KycTiers,
    KycUnlock,
)
from dracarys.identity.models import DocType
from dracarys.settings import Settings

KYC_MAX_LEVEL = 3
# The level each gated action needs (see the module docstring).
KYC_LEVEL_TO_SELL_SHORT = 1
KYC_LEVEL_TO_WITHDRAW = 2
KYC_LEVEL_FOR_MENTOR_PAYOUTS = 2
KYC_LEVEL_TO_CONVERT_POINTS = 2
KYC_LEVEL_TO_ROUTE_TO_BROKER = 2

# What an identity document may be, told by its bytes (`dracarys.files`), in this order.
DOCUMENT_TYPES = ("image/jpeg", "image/png", "application/pdf")
DOCUMENT_TYPE_NAMES = "JPEG, PNG or PDF"


@dataclass(frozen=True, slots=True)
class DocumentKind:
    doc_type: DocType
    level: int  # the level its approval completes
    title: str
    name: str  # inside a sentence ("your government ID was approved")
    hint: str
    name_sw: str  # the same, for readers of Swahili ("kitambulisho cha serikali")


DOCUMENT_KINDS: dict[DocType, DocumentKind] = {
    DocType.GOVERNMENT_ID: DocumentKind(
        DocType.GOVERNMENT_ID,
        2,
        "Government ID",
        "government ID",
        "A passport, national ID card or driving licence: a photo or scan with every "
        "corner visible and the text readable.",
        "kitambulisho cha serikali",
    ),
    DocType.PROOF_OF_ADDRESS: DocumentKind(
        DocType.PROOF_OF_ADDRESS,
        3,
        "Proof of address",
        "proof of address",
        "A recent utility bill, bank statement or tenancy agreement showing your name "
        "and home address.",
        "uthibitisho wa anwani",
    ),
}


def document_name(doc_type: str, language: str) -> str:
    """What a KYC document is called inside a sentence, in the reader's language (the
    KYC e-mails and the notification of a rejected document say it)."""
    kind = next((k for t, k in DOCUMENT_KINDS.items() if t.value == doc_type), None)
    if kind is None:
        return doc_type.replace("_", " ")
    return kind.name_sw if language == "sw" else kind.name


_TIER_TEXT = {
    1: (
        "Contact details verified",
        "Verify your e-mail address and your phone number.",
    ),
    2: (
        "Identity verified",
        "Level 1, and a reviewer approves your government ID.",
    ),
    3: (
        "Address verified",
        "Level 2, and a reviewer approves your proof of address. It completes your "
        "verification; no feature needs level 3 yet.",
    ),
}


def _unlocks(settings: Settings) -> list[tuple[int, KycUnlock]]:
    return [
        (
            KYC_LEVEL_TO_SELL_SHORT,
            KycUnlock(
                capability="trading.sell_short",
                title="Sell short and use leverage in paper trading",
                detail="Also needs an onboarding experience above beginner.",
            ),
        ),
        (
            KYC_LEVEL_TO_WITHDRAW,
            KycUnlock(
                capability="wallet.withdraw",
                title="Withdraw from your wallet",
                detail="To M-Pesa or a bank account, up to a daily limit; a large "
                "withdrawal also asks for your authenticator code.",
                limits=[
                    KycLimit(
                        kind="daily_withdrawal",
                        currency="KES",
                        amount_minor=settings.wallet_daily_withdraw_kes_minor,
                    ),
                    KycLimit(
                        kind="daily_withdrawal",
                        currency="USD",
                        amount_minor=settings.wallet_daily_withdraw_usd_minor,
                    ),
                    KycLimit(
                        kind="authenticator_code_from",
                        currency="KES",
                        amount_minor=settings.wallet_step_up_kes_minor,
                    ),
                    KycLimit(
                        kind="authenticator_code_from",
                        currency="USD",
                        amount_minor=settings.wallet_step_up_usd_minor,
                    ),
                ],
            ),
        ),
        (
            KYC_LEVEL_FOR_MENTOR_PAYOUTS,
            KycUnlock(
                capability="wallet.mentor_payouts",
                title="Weekly mentor payouts",
                detail="Mentors are paid their available earnings every week.",
            ),
        ),
        (
            KYC_LEVEL_TO_CONVERT_POINTS,
            KycUnlock(
                capability="points.convert_to_credit",
                title="Convert points to wallet or mentor credit",
                detail="The credit is released after a hold.",
                hold_days=settings.points_redemption_hold_days,
            ),
        ),
        (
            KYC_LEVEL_TO_ROUTE_TO_BROKER,
            KycUnlock(
                capability="trading.route_to_broker",
                title="Send mirrored signals to your own broker account",
                detail="Link an Alpaca account and opt in; each copy passes the same risk "
                "checks as paper trading first.",
            ),
        ),
    ]


def _requirements(level: int) -> list[KycRequirement]:
    if level == 1:
        return [
            KycRequirement(kind="email_verified", title="E-mail address verified"),
            KycRequirement(kind="phone_verified", title="Phone number verified"),
        ]
    return [
        KycRequirement(
            kind="document", title=kind.title, doc_type=kind.doc_type.value, hint=kind.hint
        )
        for kind in DOCUMENT_KINDS.values()
        if kind.level == level
    ]


def kyc_tiers(settings: Settings) -> KycTiers:
    unlocks = _unlocks(settings)
    tiers = [
        KycTier(
            level=level,
            title=_TIER_TEXT[level][0],
            summary=_TIER_TEXT[level][1],
            requirements=_requirements(level),
            unlocks=[unlock for gate, unlock in unlocks if gate == level],
        )
        for level in range(1, KYC_MAX_LEVEL + 1)
    ]
    documents = KycDocumentRules(
        accepted_types=list(DOCUMENT_TYPES),
        accepted_type_names=DOCUMENT_TYPE_NAMES,
        max_upload_bytes=settings.kyc_max_upload_bytes,
    )
    return KycTiers(max_level=KYC_MAX_LEVEL, tiers=tiers, documents=documents)
