"""Social and growth: follows of our accounts verified per platform (`verification`),
referral codes with first-party attribution (`referrals`), affiliates and their
commissions (`affiliates`) and tracked shares (`sharing`).

A package of areas cut the same way (`models`, `store`, `service`, `api`); `api.py`
gathers their routes (`ROUTES`) for the composition root. Other code uses social through
what this module exports: the topics it produces (points awards them; notifications
tells an affiliate of each commission); the share link's
page (`share_page`, for the web route at `/s/{token}`); the consumer that learns which
badges members hold from points' `badge.earned` (`record_badges_earned`, topic
`BADGE_EARNED_TOPIC`), so a badge is shared only by someone who earned it; the scheduled
re-check of verified follows (`recheck_follows`, run by the workers' cron); the platforms'
sandbox `dracarys up` serves when no social OAuth client is configured
(`social_sandbox_for`, `SocialSandbox`, under `SOCIAL_SANDBOX_PATH`); the sign-up hook
that maps a referral link's cookie to the new account (`attribute_signup`, handed to
identity by the composition root); the consumers of the topics referrals and affiliates
read (`apply_referral_events` for `REFERRAL_TOPICS`, `apply_affiliate_events` for
`AFFILIATE_TOPICS`); and the affiliate commissions' scheduled steps
(`post_due_commissions`, and around the wallet's weekly payouts `commissions_owed` and
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
    AFFILIATE_COMMISSION_ACCRUED,
    REFERRAL_COMPLETED,
    SOCIAL_FOLLOW_REVOKED,
    SOCIAL_FOLLOW_VERIFIED,
    SOCIAL_POST_SHARED,
    AffiliateCommissionAccrued,
    FollowRevoked,
    FollowVerified,
    PostShared,
    ReferralCompleted,
)
from dracarys.social.referrals.service import attribute_signup
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
    "AFFILIATE_COMMISSION_ACCRUED",
    "AFFILIATE_TOPICS",
    "BADGE_EARNED_TOPIC",
    "REFERRAL_COMPLETED",
    "REFERRAL_TOPICS",
    "SOCIAL_FOLLOW_REVOKED",
    "SOCIAL_FOLLOW_VERIFIED",
    "SOCIAL_POST_SHARED",
    "SOCIAL_SANDBOX_PATH",
    "AffiliateCommissionAccrued",
    "FollowRevoked",
    "FollowVerified",
    "PostShared",
    "ReferralCompleted",
    "SharePage",
    "SocialSandbox",
    "apply_affiliate_events",
    "apply_referral_events",
    "attribute_signup",
    "commissions_owed",
    "post_due_commissions",
    "recheck_follows",
    "record_badges_earned",
    "record_commission_payouts",
    "share_page",
    "social_sandbox_for",
]
