"""Social and growth: follows of our accounts verified per platform (`verification`),
referral codes with first-party attribution (`referrals`), affiliates and their
commissions (`affiliates`) and tracked shares (`sharing`).

A package of areas cut the same way (`models`, `store`, `service`, `api`); `api.py`
gathers their routes (`ROUTES`) for the composition root. Other code uses social through
what this module exports: the topics it produces (points awards them), the sign-up hook
that maps a referral link's cookie to the new account (`attribute_signup`, handed to
identity by the composition root) and the consumer of the topics social reads
(`apply_referral_events` for `REFERRAL_TOPICS`)."""

from dracarys.social.consumers import REFERRAL_TOPICS, apply_referral_events
from dracarys.social.events import (
    REFERRAL_COMPLETED,
    SOCIAL_FOLLOW_VERIFIED,
    SOCIAL_POST_SHARED,
    FollowVerified,
    PostShared,
    ReferralCompleted,
)
from dracarys.social.referrals.service import attribute_signup

__all__ = [
    "REFERRAL_COMPLETED",
    "REFERRAL_TOPICS",
    "SOCIAL_FOLLOW_VERIFIED",
    "SOCIAL_POST_SHARED",
    "FollowVerified",
    "PostShared",
    "ReferralCompleted",
    "apply_referral_events",
    "attribute_signup",
]
