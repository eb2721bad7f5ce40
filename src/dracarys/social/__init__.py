"""Social and growth: follows of our accounts verified per platform (`verification`),
referral codes with first-party attribution (`referrals`), affiliates and their
commissions (`affiliates`) and tracked shares (`sharing`).

A package of areas cut the same way (`models`, `store`, `service`, `api`); `api.py`
gathers their routes (`ROUTES`) for the composition root. Other code uses social through
what this module exports: the topics it produces (points awards them)."""

from dracarys.social.events import (
    REFERRAL_COMPLETED,
    SOCIAL_FOLLOW_VERIFIED,
    SOCIAL_POST_SHARED,
    FollowVerified,
    PostShared,
    ReferralCompleted,
)

__all__ = [
    "REFERRAL_COMPLETED",
    "SOCIAL_FOLLOW_VERIFIED",
    "SOCIAL_POST_SHARED",
    "FollowVerified",
    "PostShared",
    "ReferralCompleted",
]
