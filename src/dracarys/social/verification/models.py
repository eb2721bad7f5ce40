"""Follow verifications and manual proofs as stored, and as members and reviewers see them."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

import msgspec

from dracarys.wire import Input, Schema


class FollowPlatform(StrEnum):
    """The platforms where a follow of our account can earn points."""

    YOUTUBE = "youtube"
    X = "x"
    INSTAGRAM = "instagram"
    TIKTOK = "tiktok"


PLATFORM_NAMES = {
    FollowPlatform.YOUTUBE: "YouTube",
    FollowPlatform.X: "X",
    FollowPlatform.INSTAGRAM: "Instagram",
    FollowPlatform.TIKTOK: "TikTok",
}


class VerificationStatus(StrEnum):
    """Where a member's follow of one platform stands, as the page shows it."""

    NOT_CONNECTED = "not_connected"  # nothing done yet (or a proof was rejected)
    NOT_FOLLOWING = "not_following"  # connected, and the platform says no follow
    PENDING_REVIEW = "pending_review"  # a proof waits for a reviewer
    VERIFIED = "verified"
    REVOKED = "revoked"  # a re-check found the follow gone; the points were taken back
    MANUAL_REQUIRED = "manual_required"  # the API refuses the check: send a proof


Method = Literal["oauth", "manual"]


class VerificationRecord(msgspec.Struct, frozen=True, kw_only=True):
    user_id: uuid.UUID
    platform: str
    method: str
    status: str
    account_id: str | None
    account_name: str | None
    tokens_sealed: bytes | None
    checked_at: datetime
    next_check_at: datetime | None
    check_failures: int
    verified_at: datetime | None
    awarded_at: datetime | None
    revoked_at: datetime | None
    revoked_reason: str | None
    created_at: datetime


class ProofRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A manual proof without its screenshot (read on its own, when someone opens it)."""

    id: uuid.UUID
    user_id: uuid.UUID
    platform: str
    profile_url: str
    handle: str
    content_type: str
    size_bytes: int
    status: str
    submitted_at: datetime
    reviewer_id: uuid.UUID | None
    decided_at: datetime | None
    reason: str | None


class OAuthState(msgspec.Struct, frozen=True, kw_only=True):
    user_id: uuid.UUID
    platform: str
    code_verifier: str
    redirect_uri: str
    used_at: datetime | None


class Tokens(msgspec.Struct, frozen=True, kw_only=True):
    """What a provider granted, sealed at rest; `expires_at_s` is when the access token
    stops working (epoch seconds, by the platform clock)."""

    access_token: str
    refresh_token: str | None = None
    expires_at_s: int | None = None


# ---- API ---------------------------------------------------------------------------------


class OAuthStart(Schema, kw_only=True):
    """Send the browser to `authorization_url`; the platform returns it to our callback
    page with a code and this `state`."""

    platform: FollowPlatform
    authorization_url: str
    state: str


class VerifyInput(Input, kw_only=True):
    """The code and state the platform sent back to the callback page."""

    platform: FollowPlatform
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]
    state: Annotated[str, msgspec.Meta(min_length=16, max_length=256)]


class ProofView(Schema, kw_only=True):
    id: uuid.UUID
    user_id: uuid.UUID
    platform: FollowPlatform
    profile_url: str
    handle: str
    status: Literal["pending", "approved", "rejected"]
    submitted_at: datetime
    decided_at: datetime | None = None
    reason: str | None = None
    screenshot_url: str


class ProofQueueItem(ProofView, kw_only=True):
    """A proof as a reviewer sees it: whose it is."""

    member_name: str


class PlatformStatus(Schema, kw_only=True):
    """One platform on the member's page: how it is verified here, where it stands, and
    what the member can do next."""

    platform: FollowPlatform
    name: str
    our_account: str
    our_account_url: str
    method: Method
    status: VerificationStatus
    message: str
    account_name: str | None = None
    verified_at: datetime | None = None
    revoked_at: datetime | None = None
    # The first verification of this platform was sent for its award (once, ever).
    award_claimed: bool = False
    can_connect: bool = False
    can_submit_proof: bool = False
    latest_proof: ProofView | None = None


class MyVerifications(Schema, kw_only=True):
    platforms: list[PlatformStatus]
    recheck_hours: int


class ReviewInput(Input, kw_only=True):
    """A reviewer's decision; a rejection says why (the member reads it)."""

    reason: Annotated[str, msgspec.Meta(max_length=500)] = ""
