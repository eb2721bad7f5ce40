"""Lesson Markdown → safe HTML. markdown-it-py parses CommonMark (tables and
strikethrough on, raw HTML off); nh3 then cleans the result against an allow-list, so even
a parser bug cannot let a script, event handler or `javascript:` link through."""

from __future__ import annotations

from functools import cache

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {
        "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
        "hr", "img", "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th",
        "thead", "tr", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"style"},
    "td": {"style"},
}
# Fenced code keeps its `language-xxx` class for client-side highlighting; nothing else.
ALLOWED_CLASSES = {"code": {f"language-{name}" for name in (
    "python", "py", "javascript", "js", "typescript", "ts", "sql", "bash", "sh", "json",
    "yaml", "toml", "pine", "pinescript", "mql4", "mql5", "r", "rust", "go", "java", "c",
    "cpp", "csharp", "text", "plaintext",
)}}  # fmt: skip
URL_SCHEMES = frozenset({"https", "http", "mailto"})


@cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
        ["table", "strikethrough"]
    )


def render_markdown(source: str) -> str:
    html = _parser().render(source)
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        allowed_classes={tag: set(names) for tag, names in ALLOWED_CLASSES.items()},
        url_schemes=set(URL_SCHEMES),
        filter_style_properties={"text-align"},
        link_rel="noopener noreferrer nofollow",
    )
