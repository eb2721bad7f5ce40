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


PARQUET = FileType("application/vnd.apache.parquet", "parquet")
CSV = FileType("text/csv", "csv")


def sniff_data_file(content: bytes) -> FileType | None:
    """Parquet (its `PAR1` magic at both ends) or CSV (UTF-8 text without NUL bytes),
    else None: what a market data upload may be."""
    if len(content) >= 8 and content.startswith(b"PAR1") and content.endswith(b"PAR1"):
        return PARQUET
    if not content or b"\x00" in content:
        return None
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return CSV


def size_label(size_bytes: int) -> str:
    """A byte count as people read it: 512 bytes, 20 KB, 3.4 MB."""
    if size_bytes < 1000:
        return f"{size_bytes} bytes"
    if size_bytes < 1_000_000:
        return f"{size_bytes / 1000:.3g} KB"
    return f"{size_bytes / 1_000_000:.3g} MB"


def sniff_file_type(content: bytes) -> FileType | None:
    """PNG, JPEG, GIF, WebP (RIFF....WEBP) or PDF, else None. SVG is never recognised:
    it can carry script."""
    for signature, file_type in _SIGNATURES:
        if content.startswith(signature):
            return file_type
    if len(content) >= 12 and content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return FileType("image/webp", "webp")
    return None
