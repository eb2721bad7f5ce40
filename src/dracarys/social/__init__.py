"""Social and growth: follows of our accounts verified per platform (`verification`),
referral codes with first-party attribution (`referrals`), affiliates and their
commissions (`affiliates`) and tracked shares (`sharing`).

A package of areas cut the same way (`models`, `store`, `service`, `api`); `api.py`
gathers their routes (`ROUTES`) for the composition root. Other code uses social through
what this module exports: the topics it produces (points awards them); the share link's
page (`share_page`, for the web route at `/s/{token}`); the consumer that learns which
badges members hold from points' `badge.earned` (`record_badges_earned`, topic
`BADGE_EARNED_TOPIC`), so a badge is shared only by someone who earned it; the scheduled
re-check of verified follows (`recheck_follows`, run by the workers' cron); and the
platforms' sandbox `dracarys up` serves when no social OAuth client is configured
(`social_sandbox_for`, `SocialSandbox`, under `SOCIAL_SANDBOX_PATH`)."""

from dracarys.social.events import (
    REFERRAL_COMPLETED,
    SOCIAL_FOLLOW_REVOKED,
    SOCIAL_FOLLOW_VERIFIED,
    SOCIAL_POST_SHARED,
    FollowRevoked,
    FollowVerified,
    PostShared,
    ReferralCompleted,
)
from dracarys.social.sharing.models import SharePage
from dracarys.social.sharing.service import (
    BADGE_EARNED_TOPIC,
    record_badges_earned,
    share_page,
)
from dracarys.social.verification.sandbox import (
    SOCIAL_SANDBOX_PATH,
    SocialSandbox,
    social_sandbox_for,
)
from dracarys.social.verification.service import recheck_follows

__all__ = [
    "BADGE_EARNED_TOPIC",
    "REFERRAL_COMPLETED",
    "SOCIAL_FOLLOW_REVOKED",
    "SOCIAL_FOLLOW_VERIFIED",
    "SOCIAL_POST_SHARED",
    "SOCIAL_SANDBOX_PATH",
    "FollowRevoked",
    "FollowVerified",
    "PostShared",
    "ReferralCompleted",
    "SharePage",
    "SocialSandbox",
    "recheck_follows",
    "record_badges_earned",
    "share_page",
    "social_sandbox_for",
]
