"""Social and growth: follows of our accounts verified per platform (`verification`),
referral codes with first-party attribution (`referrals`), affiliates and their
commissions (`affiliates`) and tracked shares (`sharing`).

A package of areas cut the same way (`models`, `store`, `service`, `api`); `api.py`
gathers their routes (`ROUTES`) for the composition root. Other code uses social through
what this module exports: the topics it produces (points awards them), the sign-up hook
that maps a referral link's cookie to the new account (`attribute_signup`, handed to
identity by the composition root) and the consumer of the topics social reads
(`apply_referral_events` for `REFERRAL_TOPICS`, `apply_affiliate_events` for
`AFFILIATE_TOPICS`); and the affiliate commissions' scheduled steps (`post_due_commissions`,
and around the wallet's weekly payouts `commissions_owed` and
`record_commission_payouts`)."""

from dracarys.social.affiliates.service import (
    commissions_owed,
    post_due_commissions,
    record_commission_payouts,
)
from dracarys.social.consumers import (
    AFFILIATE_TOPICS,
    REFERRAL_TOPICS,
    apply_affiliate_events,
    apply_referral_events,
)
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
    "AFFILIATE_TOPICS",
    "REFERRAL_COMPLETED",
    "REFERRAL_TOPICS",
    "SOCIAL_FOLLOW_VERIFIED",
    "SOCIAL_POST_SHARED",
    "FollowVerified",
    "PostShared",
    "ReferralCompleted",
    "apply_affiliate_events",
    "apply_referral_events",
    "attribute_signup",
    "commissions_owed",
    "post_due_commissions",
    "record_commission_payouts",
]
