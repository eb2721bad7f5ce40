"""Fixtures for the tests that start the embedded PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def embedded_data_dir() -> Iterator[Path]:
    """A data directory for the embedded PostgreSQL, outside pytest's temporary root: run
    as root, the wheel's server runs as its own user, which must be able to enter every
    directory above its data, and pytest makes its root private again whenever another
    session starts. Should a test fail and leave the server running, it is stopped
    (SIGINT: PostgreSQL's fast shutdown)."""
    data_dir = Path(tempfile.mkdtemp(prefix="dracarys-embedded-"))
    yield data_dir
    pid_file = data_dir / "postgres" / "postmaster.pid"
    if pid_file.exists():
        pid = int(pid_file.read_text().splitlines()[0])
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT)
    shutil.rmtree(data_dir, ignore_errors=True)
