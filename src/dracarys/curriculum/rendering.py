"""Lesson Markdown → safe HTML. markdown-it-py parses CommonMark (tables and
strikethrough on, raw HTML off); fenced code is highlighted on the server by Pygments
(short token classes, styled by static/css/code.css); nh3 then cleans the result against
an allow-list, so even a parser bug cannot let a script, event handler or `javascript:`
link through."""

from __future__ import annotations

from functools import cache

import nh3
from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.token import STANDARD_TYPES
from pygments.util import ClassNotFound

ALLOWED_TAGS = frozenset(
    {
        "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
        "hr", "img", "li", "ol", "p", "pre", "s", "span", "strong", "table", "tbody", "td",
        "th", "thead", "tr", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"style"},
    "td": {"style"},
}
LANGUAGES = (
    "python", "py", "javascript", "js", "typescript", "ts", "sql", "bash", "sh", "json",
    "yaml", "toml", "pine", "pinescript", "mql4", "mql5", "r", "rust", "go", "java", "c",
    "cpp", "csharp", "text", "plaintext",
)  # fmt: skip
# Fenced code keeps its `language-xxx` class; the highlighter's spans keep Pygments' short
# token classes ("k", "s2", ...); nothing else.
ALLOWED_CLASSES = {
    "code": {f"language-{name}" for name in LANGUAGES},
    "span": {name for name in STANDARD_TYPES.values() if name},
}
URL_SCHEMES = frozenset({"https", "http", "mailto"})
# Languages Pygments knows under another name; Pine Script and MQL read well as C-like.
_LEXER_NAMES = {"pine": "javascript", "pinescript": "javascript", "mql4": "cpp", "mql5": "cpp"}


def _highlight(code: str, language: str, _attrs: str) -> str:
    """The code's tokens as spans (markdown-it wraps them in <pre><code>); "" lets
    markdown-it escape code in a language Pygments does not know."""
    if not language:
        return ""
    try:
        lexer = get_lexer_by_name(_LEXER_NAMES.get(language.lower(), language.lower()))
    except ClassNotFound:
        return ""
    return str(highlight(code, lexer, HtmlFormatter(nowrap=True)))


@cache
def _parser() -> MarkdownIt:
    return MarkdownIt(
        "commonmark", {"html": False, "linkify": False, "highlight": _highlight}
    ).enable(["table", "strikethrough"])


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
