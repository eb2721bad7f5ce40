"""Market data from outside (an upload) is parsed in a child process, never in the caller's.

Polars' readers are native code: some corrupt Parquet files make them ask for exabytes and
abort the whole process, which no ``except`` can catch (found by fuzzing, see
``tests/fuzz``). A child with its own memory and time limits parses the bytes and sends
back the validated, normalised frame as Arrow IPC, or the ``DataError`` naming the row and
column; if the child dies instead, the file is refused and the caller lives on.

    frame = load_untrusted(data, "parquet")   # or "csv"; raises DataError when refused
"""

from __future__ import annotations

import io
import resource
import subprocess
import sys
from typing import Literal

import msgspec
import polars as pl

from engine.data import DataError, load_csv, load_parquet

Format = Literal["csv", "parquet"]
DEFAULT_MEMORY_LIMIT_BYTES = 2 << 30
DEFAULT_TIMEOUT_S = 60.0
_FRAME, _REFUSED = b"F", b"E"


class _Refusal(msgspec.Struct, frozen=True):
    reason: str
    row: int | None
    column: str | None


def load_untrusted(
    data: bytes,
    file_format: Format,
    *,
    memory_limit_bytes: int = DEFAULT_MEMORY_LIMIT_BYTES,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> pl.DataFrame:
    """Parse and validate ``data`` in a child process; ``DataError`` when it is refused."""
    command = [sys.executable, "-m", "engine.sandbox", file_format, str(memory_limit_bytes)]
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and module, fixed arguments
            command, input=data, capture_output=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        raise DataError(f"reading this file took longer than {timeout_s:g} s") from None
    if done.returncode == 0 and done.stdout[:1] == _FRAME:
        return pl.read_ipc(io.BytesIO(done.stdout[1:]))
    if done.returncode == 0 and done.stdout[:1] == _REFUSED:
        refusal = msgspec.json.decode(done.stdout[1:], type=_Refusal)
        raise DataError(refusal.reason, row=refusal.row, column=refusal.column)
    raise DataError(f"this is not a readable {file_format} file (the reader failed on it)")


def _serve(file_format: Format, memory_limit_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_limit_bytes, memory_limit_bytes))
    data = sys.stdin.buffer.read()
    out = sys.stdout.buffer
    try:
        frame = load_csv(data) if file_format == "csv" else load_parquet(data)
    except DataError as exc:
        refusal = _Refusal(reason=exc.reason, row=exc.row, column=exc.column)
        out.write(_REFUSED + msgspec.json.encode(refusal))
        return
    ipc = io.BytesIO()
    frame.write_ipc(ipc)
    out.write(_FRAME + ipc.getvalue())


if __name__ == "__main__":
    fmt = sys.argv[1]
    if fmt not in ("csv", "parquet"):
        sys.exit("usage: python -m engine.sandbox {csv,parquet} MEMORY_LIMIT_BYTES < file")
    _serve("csv" if fmt == "csv" else "parquet", int(sys.argv[2]))
