"""The community's demo data for `dracarys up`: the demo mentee's question in Risk
Management, answered by the demo mentor, voted up and accepted. Safe to run again: the
question is looked up by its title first."""

from __future__ import annotations

import uuid

from dracarys.community.members import service as members
from dracarys.community.members.models import HandleInput
from dracarys.community.spaces import service as spaces
from dracarys.community.topics import service as topics
from dracarys.community.topics.models import PostInput, TopicInput, TopicKind
from dracarys.community.votes import service as votes
from dracarys.community.votes.models import VoteInput
from dracarys.identity import DEMO_MENTEE, DEMO_MENTORS, CurrentUser, Role
from dracarys.platform import Platform

QUESTION = "How big should my first forex positions be?"


def _acting(user_id: uuid.UUID, role: Role) -> CurrentUser:
    # The seeder acts as the demo accounts; no login session is involved.
    return CurrentUser(id=user_id, role=role, session_id=uuid.UUID(int=0))


async def seed_community_demo(platform: Platform) -> None:
    mentee = _acting(DEMO_MENTEE.id, Role.MENTEE)
    mentor = _acting(DEMO_MENTORS[0].id, Role.MENTOR)
    for user, handle in ((mentee, "amina"), (mentor, "baraka")):
        profile = await members.my_profile(platform, user)
        if profile.handle == members.default_handle(user.id):
            await members.set_handle(platform, user, HandleInput(handle=handle))
    space = await spaces.space_by_slug(platform, mentee, "risk-management")
    if await topics.topic_titled(platform, space.id, QUESTION):
        return
    asked = await topics.create_topic(
        platform,
        mentee,
        TopicInput(
            space_id=space.id,
            title=QUESTION,
            body="I have a KES 50,000 paper account. How much should I risk on one trade "
            "while I learn?",
            kind=TopicKind.QUESTION,
            tags=["position-sizing", "forex"],
        ),
    )
    answer = await topics.reply(
        platform,
        mentor,
        asked.topic.id,
        PostInput(
            body="Risk **1%** of the account per trade at most (KES 500 here), and size "
            "the position from your stop distance, not the other way round. @amina, "
            "journal every trade for a month before you raise it."
        ),
    )
    await votes.vote(platform, mentee, answer.id, VoteInput(value=1))
    await votes.accept(platform, mentee, asked.topic.id, answer.id)
