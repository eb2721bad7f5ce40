"""Post Markdown → safe HTML. markdown-it-py parses CommonMark (raw HTML off), a `@handle`
of a member who may read the space is marked as a mention, and nh3 cleans the result
against an allow-list, so a parser bug cannot let a script, an event handler or a
`javascript:` link through; a picture shows only when it is one uploaded for posts
(`IMAGE_PATH`). What a member's trust level does not yet allow (links, images) is
refused before rendering, by `links_and_images`, so the author is told instead of seeing
their post silently changed."""

from __future__ import annotations

import re
from functools import cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

ALLOWED_TAGS = frozenset(
    {
        "a", "blockquote", "br", "code", "del", "em", "hr", "img", "li", "ol", "p", "pre",
        "s", "span", "strong", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}}
URL_SCHEMES = frozenset({"https", "http", "mailto"})
# Where pictures uploaded for posts are served (community.images): a post shows no other
# picture, so nothing outside tracks its readers or changes under it.
IMAGE_PATH = "/api/v1/community/images/"
# A mention: @ then a handle (see community_profiles.handle), not inside a word or address.
MENTION = re.compile(r"(?<![\w@/])@([a-z0-9][a-z0-9_]{2,29})\b")


@cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("strikethrough")


def mentioned_handles(source: str) -> list[str]:
    """The handles a post mentions, first mention first, each once (code spans and
    blocks excluded: a handle in code is an example, not a call)."""
    seen: dict[str, None] = {}
    for token in _parser().parse(source):
        for child in [token, *(token.children or [])]:
            if child.type in ("text", "inline") and not child.children:
                for match in MENTION.finditer(child.content):
                    seen.setdefault(match.group(1), None)
    return list(seen)


def _tokens(source: str) -> list[Token]:
    flat: list[Token] = []
    for token in _parser().parse(source):
        flat.append(token)
        flat.extend(token.children or [])
    return flat


def links_and_images(source: str) -> tuple[int, int]:
    """How many links and images a post's Markdown makes."""
    tokens = _tokens(source)
    links = sum(1 for t in tokens if t.type == "link_open")
    images = sum(1 for t in tokens if t.type == "image")
    return links, images


# A web address written out in text (CommonMark links it only in <…> or [..](..)).
BARE_URL = re.compile(r"\bhttps?://([A-Za-z0-9.-]+)", re.IGNORECASE)


def link_hosts(source: str) -> list[str]:
    """The host of every link a post carries, lower-cased: Markdown links and addresses
    written out as text (a spammer's address works for readers either way)."""
    hosts: list[str] = []
    in_link = False  # a link's own text is not a second link
    for token in _tokens(source):
        if token.type == "link_open":
            in_link = True
            match = BARE_URL.match(str(token.attrs.get("href", "")))
            if match:
                hosts.append(match.group(1).lower())
        elif token.type == "link_close":
            in_link = False
        elif token.type == "text" and not in_link:
            hosts.extend(m.group(1).lower() for m in BARE_URL.finditer(token.content))
    return hosts


def _only_our_pictures(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src" and not value.startswith(IMAGE_PATH):
        return None
    return value


def render_post(source: str, known_handles: frozenset[str] = frozenset()) -> str:
    """The post's HTML; mentions of `known_handles` are marked (`span.mention`)."""
    html = _parser().render(source)

    def mention(match: re.Match[str]) -> str:
        handle = match.group(1)
        if handle not in known_handles:
            return match.group(0)
        return f'<span class="mention">@{handle}</span>'

    # Only text outside tags and outside <code>/<pre> is searched for mentions.
    parts = re.split(r"(<pre>.*?</pre>|<code>.*?</code>|<[^>]+>)", html, flags=re.DOTALL)
    html = "".join(part if part.startswith("<") else MENTION.sub(mention, part) for part in parts)
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        allowed_classes={"span": {"mention"}},
        url_schemes=set(URL_SCHEMES),
        attribute_filter=_only_our_pictures,
        link_rel="noopener noreferrer nofollow ugc",
    )
