"""Identity's API bodies and the account records its store returns (each sub-area keeps
its own records in its `models.py`). Inputs subclass `Input`, so a body carrying a
server-owned field (`role`, `kyc_level`, `verified`, `reputation_score`, `user_id`...)
is a 422 before any handler runs."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

import msgspec

from dracarys.wire import Input, Schema

Text = Annotated[str, msgspec.Meta(max_length=200)]
LongText = Annotated[str, msgspec.Meta(max_length=5000)]
Secret = Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
Code = Annotated[str, msgspec.Meta(min_length=4, max_length=32)]
HttpsUrl = Annotated[str, msgspec.Meta(pattern=r"^https://[^\s]+$", max_length=500)]
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
RateMinor = Annotated[int, msgspec.Meta(ge=0, le=100_000_000)]
Reason = Annotated[str, msgspec.Meta(min_length=3, max_length=1000)]
CountryCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z]{2}$")]


class Role(StrEnum):
    MENTEE = "mentee"
    MENTOR = "mentor"
    ADMIN = "admin"
    REVIEWER = "reviewer"
    OBSERVER = "observer"

    @property
    def is_staff(self) -> bool:
        """Admins and reviewers: they read every user's things (and every space)."""
        return self in (Role.ADMIN, Role.REVIEWER)


class Specialty(StrEnum):
    SCALPING = "scalping"
    DAY_TRADING = "day_trading"
    SWING_TRADING = "swing_trading"
    POSITION_TRADING = "position_trading"
    OPTIONS = "options"
    FOREX = "forex"
    CRYPTO = "crypto"
    STOCKS = "stocks"
    FUTURES = "futures"
    COMMODITIES = "commodities"
    TECHNICAL_ANALYSIS = "technical_analysis"
    FUNDAMENTAL_ANALYSIS = "fundamental_analysis"
    RISK_MANAGEMENT = "risk_management"
    ALGORITHMIC = "algorithmic"
    PSYCHOLOGY = "psychology"


class ExperienceLevel(StrEnum):
    BEGINNER = "beginner"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"
    PROFESSIONAL = "professional"


class TradingStyle(StrEnum):
    SCALPER = "scalper"
    DAY_TRADER = "day_trader"
    SWING_TRADER = "swing_trader"
    POSITION_TRADER = "position_trader"
    LONG_TERM_INVESTOR = "long_term_investor"
    ALGORITHMIC = "algorithmic"


class Language(StrEnum):
    """The languages notifications are written in (Kenya first: English and Swahili)."""

    ENGLISH = "en"
    SWAHILI = "sw"


class SocialPlatform(StrEnum):
    X = "x"
    YOUTUBE = "youtube"
    LINKEDIN = "linkedin"
    INSTAGRAM = "instagram"
    TIKTOK = "tiktok"
    TELEGRAM = "telegram"
    FACEBOOK = "facebook"
    WEBSITE = "website"


class DocType(StrEnum):
    GOVERNMENT_ID = "government_id"
    PROOF_OF_ADDRESS = "proof_of_address"


# ---- personal data ------------------------------------------------------------------


class Contact(msgspec.Struct, frozen=True, kw_only=True):
    """A user's contact details, opened from their sealed columns."""

    email: str
    name: str
    phone: str | None


class SealedContact(msgspec.Struct, frozen=True, kw_only=True):
    """What the users table holds of a contact: AES-GCM ciphertexts bound to the user id
    and blind indexes (keyed HMAC) for finding a user by e-mail or phone."""

    email_sealed: bytes
    email_index: bytes
    name_sealed: bytes
    phone_sealed: bytes | None
    phone_index: bytes | None


class SealedContactRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A user's id and sealed contact columns: what `PersonalDataCipher.open_contact`
    opens. (A column is None only on a row older versions left in plain.)"""

    id: uuid.UUID
    email_sealed: bytes | None
    name_sealed: bytes | None
    phone_sealed: bytes | None


class SealedNameRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    name_sealed: bytes | None


class PostalAddress(Input, kw_only=True):
    """A postal address as given and as shown (its country is the profile's own field)."""

    line1: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    line2: Text = ""
    city: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    region: Annotated[str, msgspec.Meta(max_length=100)] = ""
    postal_code: Annotated[str, msgspec.Meta(max_length=20)] = ""


class SealedAddressRecord(msgspec.Struct, frozen=True, kw_only=True):
    user_id: uuid.UUID
    address_sealed: bytes
    country: str | None


class ShippingAddress(msgspec.Struct, frozen=True, kw_only=True):
    """Where a parcel goes: a member's profile address with its country, opened."""

    address: PostalAddress
    country: str | None


# ---- account records ----------------------------------------------------------------


class UserRecord(SealedContactRecord, frozen=True, kw_only=True):
    """A users row, personal data sealed."""

    email_index: bytes | None
    phone_index: bytes | None
    role: Role
    status: str
    kyc_level: int
    password_hash: str | None
    email_verified_at: datetime | None
    phone_verified_at: datetime | None
    totp_secret_encrypted: bytes | None
    totp_enabled_at: datetime | None
    totp_last_step: int
    reputation_score: int
    created_at: datetime

    @property
    def is_active(self) -> bool:
        return self.status == "active"


class MeRecord(SealedContactRecord, frozen=True, kw_only=True):
    """What `GET /me` shows of the users row (read on its own: it is the hottest read)."""

    role: Role
    kyc_level: int
    email_verified_at: datetime | None
    phone_verified_at: datetime | None
    totp_enabled_at: datetime | None
    reputation_score: int


class SessionState(msgspec.Struct, frozen=True, kw_only=True):
    """A live login session's role and two-factor state, as `AccessMiddleware` needs."""

    role: Role
    two_factor: bool


class PlainUser(msgspec.Struct, frozen=True, kw_only=True):
    """A users row with personal data an older version stored in plain."""

    id: uuid.UUID
    plain_email: str
    plain_name: str | None
    plain_phone: str | None


class PlainEmailToken(msgspec.Struct, frozen=True, kw_only=True):
    token_hash: bytes
    plain_email: str


class PlainPhoneCode(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    plain_phone: str


class PlainOidcEmail(msgspec.Struct, frozen=True, kw_only=True):
    provider: str
    subject: str
    user_id: uuid.UUID
    plain_email: str


# ---- inputs -------------------------------------------------------------------------


class SignupInput(Input):
    email: Annotated[str, msgspec.Meta(max_length=254)]
    password: Annotated[str, msgspec.Meta(max_length=1024)]
    name: Text = ""
    phone: Annotated[str, msgspec.Meta(max_length=32)] | None = None


class LoginInput(Input):
    email: Annotated[str, msgspec.Meta(max_length=254)]
    password: Annotated[str, msgspec.Meta(max_length=1024)]
    totp_code: Code | None = None
    recovery_code: Code | None = None


class RefreshInput(Input):
    refresh_token: Secret


class PhoneVerificationInput(Input):
    phone: Annotated[str, msgspec.Meta(max_length=32)] | None = None


class CodeInput(Input):
    code: Code


class StepUpInput(Input):
    """A step-up: a fresh authenticator code, or a token from `POST /me/step-up`."""

    totp_code: Code | None = None
    step_up_token: Secret | None = None


class ProfileUpdate(Input):
    """Every field optional: only the fields sent change."""

    name: Text | None = None
    headline: Text | None = None
    bio: LongText | None = None
    specialties: Annotated[list[Specialty], msgspec.Meta(max_length=10)] | None = None
    social_links: dict[SocialPlatform, HttpsUrl] | None = None
    timezone: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    experience_level: ExperienceLevel | None = None
    trading_style: TradingStyle | None = None
    address: PostalAddress | None = None
    # Where the user lives and is billed (ISO 3166-1 alpha-2, e.g. KE): decides the VAT
    # on their purchases.
    country: CountryCode | None = None
    # The language notifications are sent in.
    language: Language | None = None


class MentorProfileUpdate(Input):
    specialties: Annotated[list[Specialty], msgspec.Meta(max_length=10)] | None = None
    hourly_rate_minor: RateMinor | None = None
    currency: Currency | None = None


class EndorsementInput(Input):
    skill: Specialty


class ReviewDecision(Input):
    reason: Reason | None = None


class RoleChange(Input):
    role: str


class KycOverride(Input):
    level: Annotated[int, msgspec.Meta(ge=0, le=3)]
    reason: Reason


class BanInput(Input):
    reason: Reason


class MentorStatusInput(Input):
    verified: bool | None = None
    on_probation: bool | None = None


class OidcCallbackInput(Input):
    code: Secret
    state: Secret


class ForgotPasswordInput(Input):
    email: Annotated[str, msgspec.Meta(max_length=254)]


class ResetPasswordInput(Input):
    """The token from the reset link and the new password (the sign-up rules apply)."""

    token: Secret
    password: Annotated[str, msgspec.Meta(max_length=1024)]


# ---- outputs ------------------------------------------------------------------------


class TokenPair(Schema):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int
    user_id: uuid.UUID
    role: str
    two_factor_enrolment_required: bool = False


class SignupResult(Schema):
    user_id: uuid.UUID
    email: str
    phone: str | None
    email_verification_sent: bool


class MentorProfile(Schema):
    specialties: list[str]
    hourly_rate_minor: int
    currency: str
    verified: bool
    verified_badge: bool
    on_probation: bool
    rating_average: float | None
    rating_count: int
    total_sessions: int


class PublicUser(Schema, tag_field="view", tag="public"):
    """A profile as anyone sees it. `view` tells the two shapes of `GET /users/{id}` apart:
    "public" here, "private" when the viewer is the owner or staff."""

    id: uuid.UUID
    name: str
    role: str
    headline: str
    bio: str
    specialties: list[str]
    social_links: dict[str, str]
    experience_level: str | None
    trading_style: str | None
    reputation_score: int
    endorsement_count: int
    mentor: MentorProfile | None
    joined_at: datetime


class PrivateUser(PublicUser, tag="private"):
    """The profile with the contact and account fields only its owner and staff see."""

    email: str
    email_verified: bool
    phone: str | None
    phone_verified: bool
    address: PostalAddress | None
    timezone: str | None
    country: str | None
    language: str
    kyc_level: int
    status: str
    two_factor_enabled: bool


class Me(Schema):
    id: uuid.UUID
    email: str
    name: str
    role: str
    kyc_level: int
    email_verified: bool
    phone: str | None
    phone_verified: bool
    two_factor_enabled: bool
    reputation_score: int


class TotpEnrolment(Schema):
    secret: str
    otpauth_uri: str
    # The otpauth URI as a QR code: an SVG image in a `data:` URI, for an <img> to show.
    qr_code_data_uri: str


class RecoveryCodes(Schema):
    recovery_codes: list[str]


class StepUpToken(Schema):
    step_up_token: str
    expires_in: int


KycVendorState = Literal["queued", "submitted", "decided", "referred"]
# verified / rejected decide the document; unclear goes to the reviewers.
KycVendorVerdict = Literal["verified", "rejected", "unclear"]


class KycVendorCheck(Schema):
    """The verification vendor's check of a document, as a reviewer sees it beside the
    document: `state` queued or submitted while the vendor works on it, decided when its
    clear result decided the document, referred when the reviewers decide (`referral`
    says why: an unclear result, a failure, no answer in time)."""

    vendor: str
    state: KycVendorState
    verdict: KycVendorVerdict | None = None
    result_code: str | None = None
    result_text: str | None = None
    referral: str | None = None
    resulted_at: datetime | None = None


class KycDocument(Schema):
    id: uuid.UUID
    user_id: uuid.UUID
    doc_type: str
    status: str
    content_type: str
    size_bytes: int
    uploaded_at: datetime
    reviewed_at: datetime | None = None
    # The reviewer's words: why a rejected document could not be accepted.
    reason: str | None = None
    # The rejected document this one was uploaded to replace.
    replaces: uuid.UUID | None = None
    # The verification vendor's check, in the reviewers' queue (when a vendor saw it).
    vendor_check: KycVendorCheck | None = None


class KycStatus(Schema):
    user_id: uuid.UUID
    kyc_level: int
    documents: list[KycDocument]


class SignInSession(Schema):
    """A live login session, as its owner sees it in their list of signed-in devices.
    `last_seen_at` is when it last renewed its access token (every 15 minutes or less
    while in use), or when it signed in."""

    id: uuid.UUID
    device: str
    user_agent: str | None
    source_ip: str | None
    signed_in_at: datetime
    last_seen_at: datetime
    expires_at: datetime | None
    two_factor: bool
    current: bool


class SignInProvider(Schema):
    """A provider one can sign in with here (`GET /auth/oidc/{id}/start`)."""

    id: str
    name: str


class OidcStart(Schema):
    authorization_url: str
    state: str


class Done(Schema):
    ok: bool = True


class AuditEntry(Schema):
    position: int
    id: uuid.UUID
    occurred_at: datetime
    actor_id: uuid.UUID | None
    action: str
    target: str
    source_ip: str | None
    details: dict[str, Any]


class AuditCheck(Schema):
    ok: bool
    rows_checked: int
    problems: list[str]
    # The last row: record "position:hash" somewhere the database cannot reach (a ticket,
    # a log archive) and pass it back as `expected_head` to catch rows cut off the end.
    head: str | None = None
