"""Discount codes — one model for promo codes admins issue and the codes points buy — as
stored, as they apply to one price, as their owner lists them, and as admins create and
list promo codes."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

import msgspec

from dracarys.wallet.models import AmountMinor, Currency
from dracarys.wire import Input, Schema

# A discount code bought with points can be spent at checkout for this long.
DISCOUNT_CODE_VALID_FOR = timedelta(days=90)
# Mentor credit (a code that pays for sessions only) lasts as long as points do.
SESSION_CREDIT_VALID_FOR = timedelta(days=365)
# Codes points issue start with these; an admin's promo code may not, so the two never meet.
POINTS_PREFIXES = ("PTS-", "SES-")


class PaysFor(StrEnum):
    """What a code may be spent on, as its owner's list says it: any purchase, or mentor
    sessions only (mentor credit)."""

    ANYTHING = "anything"
    SESSIONS = "sessions"


class PurchaseKind(StrEnum):
    """What a purchase spending a code buys."""

    SESSION = "session"
    COHORT = "cohort"
    SIGNAL_FEED = "signal_feed"
    PACKAGE = "package"
    COMMUNITY_SPACE = "community_space"


class CodeKind(StrEnum):
    """A fixed amount off (in the code's currency) or a percent of the price off."""

    FIXED = "fixed"
    PERCENT = "percent"


class Issuer(StrEnum):
    """Who made the code: points redemption (for its one owner) or an admin (for anyone)."""

    POINTS = "points"
    ADMIN = "admin"


# A discount code as a buyer types it into a purchase (matched case-insensitively).
DiscountCodeText = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class DiscountCode(msgspec.Struct, frozen=True, kw_only=True):
    """A code as stored: what it takes off (`value_minor` in `currency`, or `percent_bps`
    of the price), when (`valid_from` ≤ now < `expires_at`, no end when None), how often
    (`max_uses` in all, `max_uses_per_user` each; None is no limit; `uses` so far), on what
    (`purchase_kinds`; None is anything) and for whom (`owner_id` only, or anyone)."""

    code: str
    issuer: Issuer
    kind: CodeKind
    value_minor: int | None
    percent_bps: int | None
    currency: str | None
    valid_from: datetime
    expires_at: datetime | None
    max_uses: int | None
    max_uses_per_user: int | None
    uses: int
    purchase_kinds: list[PurchaseKind] | None
    owner_id: uuid.UUID | None
    redemption_id: uuid.UUID | None
    created_by: uuid.UUID | None
    description: str | None
    request_hash: str | None
    created_at: datetime
    deactivated_at: datetime | None
    # The latest purchase that used it (for a one-use code: when it was spent).
    last_used_at: datetime | None

    @property
    def used_at(self) -> datetime | None:
        """When a one-use code was spent (what points show beside the redemption)."""
        return self.last_used_at if self.max_uses == 1 else None

    @property
    def used_up(self) -> bool:
        return self.max_uses is not None and self.uses >= self.max_uses

    @property
    def pays_for(self) -> PaysFor:
        mentor_time = {PurchaseKind.SESSION, PurchaseKind.PACKAGE}
        sessions_only = self.purchase_kinds is not None and set(self.purchase_kinds) <= mentor_time
        return PaysFor.SESSIONS if sessions_only else PaysFor.ANYTHING


class Discount(Schema, kw_only=True):
    """What a code takes off one price: `applied_minor`, never more than the price. A
    fixed code worth more than the price is spent whole (the rest is not kept); a percent
    code takes `percent_bps` of the price, rounded half-to-even to the minor unit."""

    code: str
    kind: CodeKind
    # The fixed code's worth, or None for a percent code.
    value_minor: int | None
    percent_bps: int | None
    applied_minor: int
    currency: str
    expires_at: datetime | None
    # The points redemption that bought the code, when points did.
    redemption_id: uuid.UUID | None = None


class DiscountCodeView(Schema, kw_only=True):
    """One of the caller's discount codes (bought with points)."""

    code: str
    value_minor: int
    currency: str
    expires_at: datetime | None
    used_at: datetime | None
    status: str  # usable | used | expired
    pays_for: PaysFor = PaysFor.ANYTHING


# An admin's promo code: letters, digits and dashes, as it is printed on a flyer.
PromoCodeText = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{2,39}$")]
AwareTime = Annotated[datetime, msgspec.Meta(tz=True)]
PurchaseKinds = Annotated[list[PurchaseKind], msgspec.Meta(min_length=1, max_length=4)]


class PromoCodeInput(Input):
    """A promo code an admin creates. `kind` fixed takes `value_minor` in `currency` off;
    percent takes `percent_bps` (100 = 1%) of the price off, in any currency. Valid from
    `valid_from` (default: now) until `expires_at` (default: no end); at most `max_uses`
    purchases in all and `max_uses_per_user` per member (default: no limit); for the
    `purchase_kinds` listed (default: every purchase). Sending the same body again returns
    the code as first created."""

    code: PromoCodeText
    kind: CodeKind
    value_minor: AmountMinor | None = None
    currency: Currency | None = None
    percent_bps: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None = None
    valid_from: AwareTime | None = None
    expires_at: AwareTime | None = None
    max_uses: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)] | None = None
    max_uses_per_user: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None = None
    purchase_kinds: PurchaseKinds | None = None
    description: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class PromoCodeView(Schema, kw_only=True):
    """A promo code as admins list it. `remaining` is how many uses are left in all (None:
    no limit); `status` is scheduled (not valid yet), active, expired, used_up or
    deactivated."""

    code: str
    kind: CodeKind
    value_minor: int | None
    currency: str | None
    percent_bps: int | None
    valid_from: datetime
    expires_at: datetime | None
    max_uses: int | None
    max_uses_per_user: int | None
    uses: int
    remaining: int | None
    purchase_kinds: list[PurchaseKind] | None
    description: str | None
    status: str
    created_at: datetime
    created_by: uuid.UUID | None
    deactivated_at: datetime | None
