"""The automatic screen every new or edited post passes in its posting transaction, and
the suspension check before anyone posts.

A post is HELD for review (not refused: the author may have meant well, and a reviewer
decides) when it:
- promises returns or gives personal investment advice ("guaranteed 30% a month", "buy X
  now", "can't lose"): regulated advice the platform may not publish unreviewed
  (blueprint §12, the regulatory pitfall);
- uses strong language (glin-profanity, which reads leetspeak and spaced-out spellings);
- links to a domain on the staff's blocklist;
- carries links while its author is still at the new trust level;
- repeats, word for word, what its author posted in another space in the last day;
- comes in a burst (more than `BURST_POSTS` in `BURST_WINDOW`: the sixth in two minutes).
The first reason found is recorded and shown to the author, in English or Swahili as
their profile says (`HoldReason`; the moderation log keeps the English)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from glin_profanity import Filter

from dracarys.community.members.models import Profile, TrustLevel
from dracarys.community.moderation import store
from dracarys.community.moderation.models import ModerationAction
from dracarys.community.rendering import link_hosts
from dracarys.db import Connection
from dracarys.errors import Forbidden

SAME_TEXT_WINDOW = timedelta(days=1)
BURST_WINDOW = timedelta(minutes=2)
BURST_POSTS = 5


@dataclass(frozen=True, slots=True)
class HoldReason:
    """Why a post waits for review, in English (`text`, also what the log keeps) and in
    Swahili (`text_sw`)."""

    text: str
    text_sw: str


_GUARANTEED = ("it promises guaranteed returns", "linaahidi faida iliyohakikishwa")

# Promises of returns and personal calls to trade. Case-insensitive; deliberately narrow
# (a discussion of "guaranteed stops" or of someone's losses passes). Each with why, in
# English and in Swahili.
_RETURN_PROMISES: tuple[tuple[re.Pattern[str], tuple[str, str]], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), why)
    for pattern, why in (
        (
            r"\bguarantee[ds]?\b[^.!?\n]{0,40}\b(returns?|profits?|gains?|income|payouts?|"
            r"\d+(\.\d+)?\s*%)",
            _GUARANTEED,
        ),
        (
            r"\b(returns?|profits?|gains?|income)\b[^.!?\n]{0,25}\bguaranteed\b",
            _GUARANTEED,
        ),
        (
            r"\b\d+(\.\d+)?\s*%\s*(a|an|per|every|each)\s+(day|week|month|year)\b",
            ("it promises a fixed rate of return", "linaahidi kiwango maalum cha faida"),
        ),
        (
            r"\b(can'?t|cannot|can not|won'?t|never)\s+lose\b|\brisk[- ]free\s+"
            r"(returns?|profits?|gains?|trades?|money)\b|\bno[- ]risk\s+(returns?|profits?|gains?|"
            r"trades?|investments?)\b",
            (
                "it claims a trade cannot lose",
                "linadai kwamba biashara haiwezi kupata hasara",
            ),
        ),
        (
            r"\b(double|triple)\s+your\s+(money|account|capital)\b",
            ("it promises to multiply your money", "linaahidi kuzidisha pesa zako"),
        ),
        (
            r"\b(buy|sell|short|load up on)\s+\$?[a-z0-9./-]{1,12}\s+(right\s+)?"
            r"(now|today|immediately)\b",
            (
                "it tells readers to trade now (personal investment advice)",
                "linawaambia wasomaji wafanye biashara sasa (ushauri binafsi wa uwekezaji)",
            ),
        ),
    )
)


@cache
def _profanity() -> Filter:
    return Filter()


def return_promise(source: str) -> HoldReason | None:
    """Why the text reads as a promise of returns or personal investment advice, quoting
    it; None when it does not."""
    for pattern, (why, why_sw) in _RETURN_PROMISES:
        match = pattern.search(source)
        if match:
            quoted = f"\u201c{match.group(0).strip()}\u201d"
            return HoldReason(
                f"Held for review: {why} ({quoted}). Posts may not promise returns or give "
                "personal investment advice; a reviewer decides whether it can be published.",
                f"Limesimamishwa ili likaguliwe: {why_sw} ({quoted}). Machapisho hayaruhusiwi "
                "kuahidi faida wala kutoa ushauri binafsi wa uwekezaji; mkaguzi ataamua kama "
                "linaweza kuchapishwa.",
            )
    return None


def strong_language(source: str) -> HoldReason | None:
    if _profanity().is_profane(source):
        return HoldReason(
            "Held for review: it uses language the community guidelines do not allow.",
            "Limesimamishwa ili likaguliwe: linatumia lugha ambayo miongozo ya jumuiya hairuhusu.",
        )
    return None


async def screen_post(
    conn: Connection,
    *,
    author: Profile,
    space_id: uuid.UUID,
    source: str,
    now: datetime,
    new_post: bool = True,
) -> HoldReason | None:
    """Why the post must wait for review, or None to publish it. An edit (`new_post`
    False) passes every check but the posting rate: it adds no post."""
    found = return_promise(source) or strong_language(source)
    if found:
        return found
    hosts = link_hosts(source)
    blocked = await store.blocked_among(conn, hosts)
    if blocked:
        sites = ", ".join(blocked)
        return HoldReason(
            f"Held for review: it links to {sites}, a blocked site.",
            f"Limesimamishwa ili likaguliwe: lina kiungo cha {sites}, tovuti iliyozuiwa.",
        )
    if hosts and author.trust_level is TrustLevel.NEW:
        return HoldReason(
            "Held for review: links from members at the new trust level are checked by a "
            "moderator before they are shown.",
            "Limesimamishwa ili likaguliwe: viungo kutoka kwa wanachama wa kiwango kipya cha "
            "uaminifu hukaguliwa na msimamizi kabla ya kuonyeshwa.",
        )
    if await store.same_text_elsewhere(
        conn, author.user_id, source, space_id, now - SAME_TEXT_WINDOW
    ):
        return HoldReason(
            "Held for review: the same text was posted in another space today.",
            "Limesimamishwa ili likaguliwe: maandishi hayo hayo yamechapishwa katika sehemu "
            "nyingine leo.",
        )
    # The author's earlier posts in the window; this one would make one more.
    if (
        new_post
        and await store.posts_since(conn, author.user_id, now - BURST_WINDOW) >= BURST_POSTS
    ):
        return HoldReason(
            f"Held for review: more than {BURST_POSTS} posts in two minutes.",
            f"Limesimamishwa ili likaguliwe: zaidi ya machapisho {BURST_POSTS} ndani ya "
            "dakika mbili.",
        )
    return None


async def hold_post(
    conn: Connection, post_id: uuid.UUID, reason: HoldReason, now: datetime
) -> None:
    """Hold a post the screen stopped: out of view, in the queue, the reason logged."""
    await store.hold_post(conn, post_id, "held", reason.text)
    await store.log_action(conn, post_id, None, ModerationAction.HELD, reason.text, now)


async def ensure_not_suspended(conn: Connection, user_id: uuid.UUID, now: datetime) -> None:
    suspension = await store.active_suspension(conn, user_id, now)
    if suspension is not None:
        raise Forbidden(
            f"You are suspended from posting until {suspension.ends_at:%d %b %Y, %H:%M} UTC: "
            f"{suspension.reason}",
            field="body",
        )
