"""Social and growth: follows of our accounts verified per platform (`verification`),
referral codes with first-party attribution (`referrals`), affiliates and their
commissions (`affiliates`) and tracked shares (`sharing`).

A package of areas cut the same way (`models`, `store`, `service`, `api`); `api.py`
gathers their routes (`ROUTES`) for the composition root. Other code uses social through
what this module exports: the topics it produces (points awards them); the share link's
page (`share_page`, for the web route at `/s/{token}`); and the consumer that learns which
badges members hold from points' `badge.earned` (`record_badges_earned`, topic
`BADGE_EARNED_TOPIC`), so a badge is shared only by someone who earned it."""

from dracarys.social.events import (
    REFERRAL_COMPLETED,
    SOCIAL_FOLLOW_VERIFIED,
    SOCIAL_POST_SHARED,
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

__all__ = [
    "BADGE_EARNED_TOPIC",
    "REFERRAL_COMPLETED",
    "SOCIAL_FOLLOW_VERIFIED",
    "SOCIAL_POST_SHARED",
    "FollowVerified",
    "PostShared",
    "ReferralCompleted",
    "SharePage",
    "record_badges_earned",
    "share_page",
]
