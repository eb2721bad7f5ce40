#!/usr/bin/env python3
"""The two set-up commands of the README, for a machine with only Python ≥ 3.11 and git.

    python3 dev.py up     install what is needed, migrate, seed demo data, serve :8000
    python3 dev.py test   lint, type-check and run the whole test suite

It fetches uv (into .bootstrap/, once) when uv is not on PATH, then lets uv install the
locked dependencies into .venv and run the command there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
BOOTSTRAP = ROOT / ".bootstrap"
UV_VERSION = "0.13.9"


def find_uv() -> str:
    found = shutil.which("uv")
    if found:
        return found
    tool_env = BOOTSTRAP / "uv-env"
    uv = tool_env / "bin" / "uv"
    if not uv.exists():
        print(f"dev.py: installing uv {UV_VERSION} into {tool_env} (once)", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(tool_env)
        subprocess.run(
            [str(tool_env / "bin" / "python"), "-m", "pip", "install", "-q", f"uv=={UV_VERSION}"],
            check=True,
        )
    return str(uv)


def run(*args: str) -> int:
    print("+", " ".join(args), flush=True)
    return subprocess.run(args, cwd=ROOT, check=False).returncode


def _parallel(pytest_args: list[str]) -> list[str]:
    """The whole suite runs on every core (pytest-xdist), a test file per worker: each test
    has its own database, and a file's tests share its session fixtures. Pass `-n 0` (or
    any `-n`) to choose otherwise."""
    if any(arg == "-n" or arg.startswith(("-n", "--numprocesses")) for arg in pytest_args):
        return []
    return ["--numprocesses=auto", "--dist=loadfile"]


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"up", "test"}:
        print(__doc__)
        return 2
    uv = find_uv()
    os.environ.setdefault("UV_PYTHON_PREFERENCE", "system")
    if code := run(uv, "sync", "--frozen"):
        return code
    if argv[0] == "up":
        # Replaced by uv (which hands its signals to `dracarys up`), so a SIGTERM sent to
        # this process stops the platform instead of leaving it running as an orphan.
        up = [uv, "run", "--frozen", "dracarys", "up", *argv[1:]]
        print("+", " ".join(up), flush=True)
        os.chdir(ROOT)
        os.execv(uv, up)  # noqa: S606 - our own uv, a fixed argument list
    checks = [
        (uv, "run", "--frozen", "ruff", "check", "."),
        (uv, "run", "--frozen", "ruff", "format", "--check", "."),
        (uv, "run", "--frozen", "mypy"),
        (uv, "run", "--frozen", "pytest", *_parallel(argv[1:]), *argv[1:]),
    ]
    for command in checks:
        if code := run(*command):
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
