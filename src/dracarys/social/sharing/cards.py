"""The image a share shows on social sites: a 1200×630 PNG (the Open Graph size X,
Facebook, LinkedIn, WhatsApp and Telegram all crop well) with the title, the one figure
that matters and the brand, in the pages' dark theme.

Drawn with Pillow's own font (Aileron, built into Pillow ≥ 10.1), so no font file ships
with us and the image is the same on every machine. A card is named by the hash of what
it says (`card_hash`): the same content is drawn once and cached for ever."""

from __future__ import annotations

import hashlib
import io

import msgspec
from PIL import Image, ImageDraw, ImageFont

from dracarys.social.sharing.models import Card, ShareKind

WIDTH, HEIGHT = 1200, 630
# Bumped when the drawing changes, so new cards get new names (old ones stay cached).
_LAYOUT_VERSION = b"card-v2"

_BACKGROUND = (15, 20, 25)
_PANEL = (22, 29, 38)
_LINE = (42, 53, 67)
_TEXT = (230, 237, 243)
_MUTED = (154, 167, 180)
_ACCENT = (240, 136, 62)
_UP = (38, 166, 154)
_DOWN = (239, 83, 80)

_KIND_LABEL = {
    ShareKind.SIGNAL: "CLOSED SIGNAL",
    ShareKind.CERTIFICATE: "CERTIFICATE",
    ShareKind.BADGE: "BADGE EARNED",
    ShareKind.TRACK_RECORD: "VERIFIED TRACK RECORD",
}
_MARGIN = 72


def card_hash(card: Card) -> str:
    """The card's name: SHA-256 of its content and the layout version."""
    return hashlib.sha256(_LAYOUT_VERSION + msgspec.json.encode(card)).hexdigest()


def _font(size: int) -> ImageFont.FreeTypeFont:
    font = ImageFont.load_default(size=size)
    assert isinstance(font, ImageFont.FreeTypeFont)  # Pillow has FreeType (≥ 10.1)
    return font


def _fit(text: str, font: ImageFont.FreeTypeFont, width: int, max_lines: int) -> list[str]:
    """`text` wrapped into at most `max_lines` lines of `width` pixels, the last one cut
    with an ellipsis when the text is longer."""
    words = text.split()
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}".strip()
        if font.getlength(candidate) <= width or not current:
            current = candidate
            continue
        lines.append(current)
        current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1] + " …"
    cut = []
    for line in lines:
        while font.getlength(line) > width and len(line) > 1:
            line = line[:-2] + "…"
        cut.append(line)
    return cut


def _figure_colour(card: Card) -> tuple[int, int, int]:
    if card.figure.startswith("+"):
        return _UP
    if card.figure.startswith(("-", "−")):
        return _DOWN
    return _ACCENT


def render_card(card: Card) -> bytes:
    """The card as PNG bytes."""
    image = Image.new("RGB", (WIDTH, HEIGHT), _BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle(
        (32, 32, WIDTH - 32, HEIGHT - 32), radius=24, fill=_PANEL, outline=_LINE, width=2
    )
    draw.rectangle((32, 32, 44, HEIGHT - 32), fill=_ACCENT)
    width = WIDTH - 2 * _MARGIN

    draw.text(
        (_MARGIN, 70), "Dracarys", font=_font(40), fill=_ACCENT, stroke_width=1, stroke_fill=_ACCENT
    )
    label = _KIND_LABEL[card.kind]
    label_font = _font(26)
    draw.text(
        (WIDTH - _MARGIN - label_font.getlength(label), 80), label, font=label_font, fill=_MUTED
    )

    title_font = _font(56)
    y = 150
    for line in _fit(card.title, title_font, width, 2):
        draw.text(
            (_MARGIN, y), line, font=title_font, fill=_TEXT, stroke_width=1, stroke_fill=_TEXT
        )
        y += 70

    # The figure as large as fits on one line: "+2.1R" big, a badge's name smaller.
    figure_font = next(
        (f for f in map(_font, (120, 104, 88, 76, 64)) if f.getlength(card.figure) <= width),
        _font(64),
    )
    figure = _fit(card.figure, figure_font, width, 1)[0]
    draw.text(
        (_MARGIN, 430 - int(figure_font.size)),
        figure,
        font=figure_font,
        fill=_figure_colour(card),
        stroke_width=2,
        stroke_fill=_figure_colour(card),
    )
    caption_font = _font(32)
    draw.text(
        (_MARGIN, 450),
        _fit(card.figure_caption, caption_font, width, 1)[0],
        font=caption_font,
        fill=_MUTED,
    )

    subtitle_font = _font(30)
    draw.text(
        (_MARGIN, 530),
        _fit(card.subtitle, subtitle_font, width, 1)[0],
        font=subtitle_font,
        fill=_TEXT,
    )

    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
