"""Moderation rules: members' flags, weighted by the flagger's trust level, hide a post
past `FLAG_HIDE_THRESHOLD`; the review queue of held, hidden and appealed posts, read and
decided by staff (admins and reviewers, with two-factor) and by members whose trust level
`moderates` (spaces open to everyone: public and not premium); each decision logged,
written to the hash-chained audit log, and told to the author with its reason
(`PostModerated`, which notifications turns into a notice); one appeal per post;
suspensions; the staff's blocklist of link domains."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from dracarys.community.events import PostModerated
from dracarys.community.members import service as members
from dracarys.community.members.models import TRUST_RULES
from dracarys.community.moderation import store
from dracarys.community.moderation.models import (
    DECISION_ACTIONS,
    DOMAIN_PATTERN,
    FLAG_HIDE_THRESHOLD,
    AppealInput,
    AppealView,
    BlockedDomain,
    BlockedDomainInput,
    Decision,
    DecisionInput,
    DecisionView,
    FlagInput,
    FlagView,
    ModerationAction,
    QueuedPost,
    QueueItem,
)
from dracarys.community.topics import service as topics
from dracarys.db import Connection, transaction
from dracarys.errors import Conflict, Forbidden, InvalidInput, NotFound
from dracarys.identity import CurrentUser, record_audit
from dracarys.outbox import emit_event
from dracarys.platform import Platform

_DOMAIN = re.compile(DOMAIN_PATTERN)
FLAGGED_SW = "Limefichwa ili likaguliwe: wanachama wameliripoti kuwa linakiuka miongozo ya jumuiya."
_AUDIT_ACTIONS = {
    Decision.APPROVE: "community.post_approved",
    Decision.EDIT: "community.post_edited",
    Decision.DELETE: "community.post_deleted",
    Decision.WARN: "community.member_warned",
    Decision.SUSPEND: "community.member_suspended",
}


async def _tell_author(
    conn: Connection,
    post: QueuedPost,
    action: ModerationAction,
    reason: str,
    until: str | None,
    reason_sw: str | None = None,
) -> None:
    """`reason_sw`: the reason in Swahili when the platform wrote it; a moderator's words
    go as they wrote them."""
    await emit_event(
        conn,
        PostModerated(
            post_id=str(post.post_id),
            topic_id=str(post.topic_id),
            seq=post.seq,
            author_id=str(post.author_id),
            topic_title=post.topic_title,
            action=action.value,
            reason=reason,
            until=until,
            reason_sw=reason_sw,
        ),
    )


# ---- who moderates ----


async def may_moderate(platform: Platform, user: CurrentUser) -> bool:
    async with transaction(platform.pool) as conn:
        return await _scope(conn, platform, user) is not None


async def _scope(conn: Connection, platform: Platform, user: CurrentUser) -> bool | None:
    if user.is_staff:
        return True if user.two_factor else None
    profile = await members.ensure_profile(conn, user.id, platform.clock.now())
    return False if TRUST_RULES[profile.trust_level].moderates else None


async def _require_scope(conn: Connection, platform: Platform, user: CurrentUser) -> bool:
    scope = await _scope(conn, platform, user)
    if scope is None:
        if user.is_staff:
            raise Forbidden(
                "Moderating needs two-factor authentication: sign in again with your "
                "authenticator code.",
                extra={"two_factor_required": True},
            )
        raise Forbidden("The moderation queue is for staff and members at the leader trust level.")
    return scope


# ---- the queue ----


async def review_queue(platform: Platform, user: CurrentUser) -> list[QueueItem]:
    """Held, hidden and appealed posts, appeals last, oldest first."""
    async with transaction(platform.pool) as conn:
        every_space = await _require_scope(conn, platform, user)
        queued = await store.queued_posts(conn, public_only=not every_space)
        handles = await members.handles_of(conn, {q.author_id for q in queued})
        suspended = await store.suspended_until(
            conn, list({q.author_id for q in queued}), platform.clock.now()
        )
    return [
        QueueItem(
            post_id=q.post_id,
            topic_id=q.topic_id,
            seq=q.seq,
            topic_title=q.topic_title,
            space_slug=q.space_slug,
            author_id=q.author_id,
            author_handle=handles.get(q.author_id) or members.default_handle(q.author_id),
            status=q.status,
            reason=q.moderation_reason,
            source=q.source,
            html=q.html,
            flag_weight=q.flag_weight,
            flags=q.flags,
            appeal=q.appeal,
            appealed_at=q.appealed_at,
            author_suspended_until=suspended.get(q.author_id),
            created_at=q.created_at,
        )
        for q in queued
    ]


async def decide(
    platform: Platform,
    user: CurrentUser,
    post_id: uuid.UUID,
    data: DecisionInput,
    source_ip: str | None,
) -> DecisionView:
    """Approve (published: it appears, and a held post is announced as a new one), edit
    (the text replaced, then published), delete; or warn or suspend the author (the post
    stays queued for its own decision). The author is told, with the reason."""
    if data.decision is Decision.EDIT and data.body is None:
        raise InvalidInput("Write the post's new text to edit it.", field="body")
    if data.decision is Decision.SUSPEND and data.days is None:
        raise InvalidInput("Say for how many days the member is suspended.", field="days")
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        every_space = await _require_scope(conn, platform, user)
        post = await store.lock_queued(conn, post_id)
        if post is None or (not every_space and not post.space_public):
            raise NotFound("There is no such post.", field="post_id")
        if post.author_id == user.id:
            raise Forbidden("Another moderator reviews your own post.", field="post_id")
        on_post = data.decision in (Decision.APPROVE, Decision.EDIT, Decision.DELETE)
        if on_post and not await _in_review(conn, post):
            raise Conflict("This post is not waiting for review.", field="post_id")
        action = DECISION_ACTIONS[data.decision]
        until = None
        if data.decision is Decision.EDIT:
            assert data.body is not None
            await topics.replace_text(conn, post.post_id, user.id, data.body, now)
        if data.decision in (Decision.APPROVE, Decision.EDIT):
            announce = not await store.ever_published(conn, post.post_id)
            await store.decide_post(conn, post.post_id, "visible", None)
            if announce:
                await topics.announce_approved(conn, platform, post.post_id)
        elif data.decision is Decision.DELETE:
            await store.decide_post(conn, post.post_id, "removed", data.reason)
        elif data.decision is Decision.SUSPEND:
            assert data.days is not None
            until = now + timedelta(days=data.days)
            await store.insert_suspension(
                conn,
                user_id=post.author_id,
                moderator_id=user.id,
                post_id=post.post_id,
                reason=data.reason,
                starts_at=now,
                ends_at=until,
            )
        await store.log_action(conn, post.post_id, user.id, action, data.reason, now)
        await record_audit(
            conn,
            user.id,
            _AUDIT_ACTIONS[data.decision],
            f"community_post:{post.post_id}",
            source_ip,
            {
                "author_id": str(post.author_id),
                "reason": data.reason,
                **({"until": until.isoformat()} if until else {}),
            },
            at=now,
        )
        await _tell_author(conn, post, action, data.reason, until.isoformat() if until else None)
        after = await store.lock_queued(conn, post.post_id)
        assert after is not None
        return DecisionView(
            post_id=post.post_id,
            decision=data.decision,
            status=after.status,
            in_review=await _in_review(conn, after),
            suspended_until=until,
        )


async def _in_review(conn: Connection, post: QueuedPost) -> bool:
    return bool(await store.queued_posts(conn, post_id=post.post_id, only_in_review=True))


# ---- flags and appeals ----


async def flag(
    platform: Platform, user: CurrentUser, post_id: uuid.UUID, data: FlagInput
) -> FlagView:
    """One flag per member and post, weighing what the flagger's trust level says; past
    the threshold the post is hidden and queued, and its author told."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        post = await topics.readable_post(conn, user, post_id, now)
        if post.author_id == user.id:
            raise InvalidInput("You cannot flag your own post.", field="post_id")
        queued = await store.lock_queued(conn, post.id)
        assert queued is not None
        if queued.status != "visible":
            raise Conflict("This post is already out of view for review.", field="post_id")
        flagger = await members.ensure_profile(conn, user.id, now)
        weight = TRUST_RULES[flagger.trust_level].flag_weight
        total = await store.add_flag(conn, post.id, user.id, weight, data.reason, now)
        if total is None:
            raise Conflict("You flagged this post already.", field="post_id")
        hidden = total >= FLAG_HIDE_THRESHOLD
        if hidden:
            reason = "Hidden for review: members flagged it as breaking the community guidelines."
            await store.hold_post(conn, post.id, "hidden", reason)
            await store.log_action(conn, post.id, None, ModerationAction.HIDDEN, reason, now)
            await _tell_author(
                conn, queued, ModerationAction.HIDDEN, reason, None, reason_sw=FLAGGED_SW
            )
        return FlagView(post_id=post.id, weight=weight, flag_weight=total, hidden=hidden)


async def appeal(
    platform: Platform, user: CurrentUser, post_id: uuid.UUID, data: AppealInput
) -> AppealView:
    """The author asks for a decision to be looked at again, once per post: the post goes
    back to the queue with the appeal."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        post = await store.lock_queued(conn, post_id)
        if post is None or post.author_id != user.id:
            raise NotFound("There is no such post of yours.", field="post_id")
        if post.status == "visible":
            raise Conflict("This post is published: there is nothing to appeal.", field="post_id")
        if not await store.record_appeal(conn, post.post_id, data.text, now):
            raise Conflict("You have appealed this post already.", field="post_id")
        await store.log_action(
            conn, post.post_id, user.id, ModerationAction.APPEALED, data.text, now
        )
        return AppealView(post_id=post.post_id, status=post.status, appealed_at=now)


# ---- the blocklist (staff) ----


async def blocked_domains(platform: Platform) -> list[BlockedDomain]:
    async with platform.pool.acquire() as conn:
        return await store.blocked_domains(conn)


def _domain(domain: str) -> str:
    cleaned = domain.strip().lower().removeprefix("www.")
    if not _DOMAIN.match(cleaned):
        raise InvalidInput("Give a domain such as spam.example.", field="domain")
    return cleaned


async def block_domain(
    platform: Platform,
    user: CurrentUser,
    domain: str,
    data: BlockedDomainInput,
    source_ip: str | None,
) -> BlockedDomain:
    name = _domain(domain)
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        blocked = await store.upsert_blocked_domain(conn, name, data.reason, user.id, now)
        await record_audit(
            conn,
            user.id,
            "community.domain_blocked",
            f"domain:{name}",
            source_ip,
            {"reason": data.reason},
            at=now,
        )
        return blocked


async def unblock_domain(
    platform: Platform, user: CurrentUser, domain: str, source_ip: str | None
) -> None:
    name = _domain(domain)
    async with transaction(platform.pool) as conn:
        if not await store.delete_blocked_domain(conn, name):
            raise NotFound(f"{name} is not blocked.", field="domain")
        await record_audit(
            conn, user.id, "community.domain_unblocked", f"domain:{name}", source_ip, {}
        )
