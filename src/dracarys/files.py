"""What an uploaded file is, read from its first bytes: what the client says a file is
counts for nothing. Each upload then accepts only the types it allows."""

from __future__ import annotations

from typing import NamedTuple


class FileType(NamedTuple):
    content_type: str
    extension: str


_SIGNATURES: tuple[tuple[bytes, FileType], ...] = (
    (b"\x89PNG\r\n\x1a\n", FileType("image/png", "png")),
    (b"\xff\xd8\xff", FileType("image/jpeg", "jpg")),
    (b"GIF87a", FileType("image/gif", "gif")),
    (b"GIF89a", FileType("image/gif", "gif")),
    (b"%PDF-", FileType("application/pdf", "pdf")),
)


def sniff_file_type(content: bytes) -> FileType | None:
    """PNG, JPEG, GIF, WebP (RIFF....WEBP) or PDF, else None. SVG is never recognised:
    it can carry script."""
    for signature, file_type in _SIGNATURES:
        if content.startswith(signature):
            return file_type
    if len(content) >= 12 and content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return FileType("image/webp", "webp")
    return None
