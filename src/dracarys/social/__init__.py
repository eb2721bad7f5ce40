"""Social and growth: follows of our accounts verified per platform (`verification`),
referral codes with first-party attribution (`referrals`), affiliates and their
commissions (`affiliates`) and tracked shares (`sharing`).

A package of areas cut the same way (`models`, `store`, `service`, `api`); `api.py`
gathers their routes (`ROUTES`) for the composition root. Other code uses social through
what this module exports: the topics it produces (points awards them) and the scheduled
re-check of verified follows (`recheck_follows`, run by the workers' cron)."""

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
from dracarys.social.verification.service import recheck_follows

__all__ = [
    "REFERRAL_COMPLETED",
    "SOCIAL_FOLLOW_REVOKED",
    "SOCIAL_FOLLOW_VERIFIED",
    "SOCIAL_POST_SHARED",
    "FollowRevoked",
    "FollowVerified",
    "PostShared",
    "ReferralCompleted",
    "recheck_follows",
]
