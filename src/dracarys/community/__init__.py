"""Community (issue 21, blueprint 2.9): spaces — seeded topic channels and groups mentors
host, which may follow a cohort (`spaces`); members' handles, reputation and trust levels
(`members`); topics and posts with Markdown, mentions, quotes, reactions, edit history and
read positions (`topics`); Q&A votes and accepted answers (`votes`); full-text search
(`search`); the automatic screen, flags, the review queue, appeals and suspensions
(`moderation`); premium groups paid by the month (`premium`).

A package of areas cut the same way (`models`, `store`, `service`, `api`); `api.py`
gathers their routes for the composition root. Other code uses the community through what
this module exports: who may watch a space's stream channel (`space_watchers`, the
`community:` channel policy's check), the scheduled trust recomputation
(`recompute_trust_levels`) and premium renewals (`renew_premium_memberships`), run by the
workers' cron, what joining a premium group costs (`premium_space_offer`, the checkout's
quote), the members whose handle begins with what staff typed (`handles_starting_with`,
the staff console's search), the demo seeder
(`seed_community_demo`), and the events it writes
(`PostCreated`, which notifications turns into reply and mention notices;
`PostMentioned`, an edit's new mentions, which it turns into mention notices;
`PostModerated`, which tells an author what moderation did to their post and why)."""

from dracarys.community.demo import seed_community_demo
from dracarys.community.events import PostCreated, PostMentioned, PostModerated
from dracarys.community.members.service import handles_starting_with, recompute_trust_levels
from dracarys.community.premium.service import premium_space_offer, renew_premium_memberships
from dracarys.community.spaces.service import space_watchers

__all__ = [
    "PostCreated",
    "PostMentioned",
    "PostModerated",
    "handles_starting_with",
    "premium_space_offer",
    "recompute_trust_levels",
    "renew_premium_memberships",
    "seed_community_demo",
    "space_watchers",
]
