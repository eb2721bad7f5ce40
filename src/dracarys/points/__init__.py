"""Points, gamification and rewards: the append-only points ledger, versioned earning
rules, event-driven awards, pending money-tied awards, tiers, badges, streaks,
leaderboards, redemption, expiry, anti-abuse and reports.

A package of areas cut the same way (`models`, `store`, `service`): `ledger`, `rulebook`,
`awarding`, `badges`, `redemption`, `expiry`, `abuse`, `reports`; `api.py` serves them
over HTTP (`ROUTES`), `consumers.py` takes other domains' events and `notifications.py`
says what an award tells its member.

Other code uses points through what this module exports: the consumers the workers list
(with the topics they take), what an award tells its member (`award_message`, in English
or Swahili, with the e-mail templates of each and `award_email` to find one by name), a
reason code in words (`describe_reason`, for a notice of points taken back), the
scheduled jobs, the demo seed, the click tokens marketing e-mails carry (issued, and a
followed link recorded; scanners told apart by `is_automated_agent`), and what a buyer's
points would be worth as a discount code (`points_for_discount`, for a checkout quote).
The codes themselves are the wallet's: points asks it to issue one on a conversion."""

from dracarys.points.abuse.service import (
    flag_shared_clusters,
    is_automated_agent,
    issue_email_token,
    record_email_click,
)
from dracarys.points.awarding.service import post_due_pending
from dracarys.points.consumers import CONSUMED_TOPICS, apply_events, count_awards
from dracarys.points.demo import seed_points_demo
from dracarys.points.events import (
    POINTS_AWARDED,
    POINTS_CLAWED_BACK,
    POINTS_FROZEN,
    POINTS_REDEEMED_FOR_CREDIT,
    TIER_CHANGED,
    BadgeEarned,
    PointsAwarded,
    PointsClawedBack,
    PointsFrozen,
    PointsRedeemedForCredit,
    TierChanged,
)
from dracarys.points.expiry.service import expire_points, refresh_tiers
from dracarys.points.notifications import (
    EMAIL_TEMPLATES,
    SWAHILI_EMAIL_TEMPLATES,
    AwardMessage,
    award_email,
    award_message,
)
from dracarys.points.reasons import describe_reason
from dracarys.points.redemption.models import PointsForDiscount
from dracarys.points.redemption.service import points_for_discount, release_held_redemptions
from dracarys.points.reports.service import reconcile

__all__ = [
    "CONSUMED_TOPICS",
    "EMAIL_TEMPLATES",
    "POINTS_AWARDED",
    "POINTS_CLAWED_BACK",
    "POINTS_FROZEN",
    "POINTS_REDEEMED_FOR_CREDIT",
    "SWAHILI_EMAIL_TEMPLATES",
    "TIER_CHANGED",
    "AwardMessage",
    "BadgeEarned",
    "PointsAwarded",
    "PointsClawedBack",
    "PointsForDiscount",
    "PointsFrozen",
    "PointsRedeemedForCredit",
    "TierChanged",
    "apply_events",
    "award_email",
    "award_message",
    "count_awards",
    "describe_reason",
    "expire_points",
    "flag_shared_clusters",
    "is_automated_agent",
    "issue_email_token",
    "points_for_discount",
    "post_due_pending",
    "reconcile",
    "record_email_click",
    "refresh_tiers",
    "release_held_redemptions",
    "seed_points_demo",
]
