"""Shared harness for HTTP benchmarks: serve an ASGI app with uvicorn in a subprocess (the
same server and flags for every contender) and load it with wrk, reporting requests/s and
latency percentiles. wrk comes from Debian's `wrk` package (`apt-get install wrk`)."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata

import httpx


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def served(app: str, *, factory: bool, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """Run `uvicorn app` (an import string) on a free port; yields the base URL."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
    ]
    if factory:
        command.append("--factory")
    with served_by(command, port, env=env) as base:
        yield base


@contextlib.contextmanager
def served_by(
    command: list[str], port: int, *, env: Mapping[str, str] | None = None
) -> Iterator[str]:
    """Run a server `command` listening on `port` until it answers `GET /health`; yields
    the base URL and stops the server at exit. The server warms no Numba cache beside
    itself: a compile in the background would share the cores with what is measured."""
    process = subprocess.Popen(
        command, env={**os.environ, "DRACARYS_ENGINE_WARMUP": "off", **(env or {})}
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{' '.join(command)} did not start")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(
    url: str, *, seconds: int = 10, connections: int = 64, headers: Mapping[str, str] = {}
) -> LoadResult:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency = dict(re.findall(r"^\s+(\d+)%\s+([\d.]+\w+)", out, re.MULTILINE))
    split = {k: re.match(r"([\d.]+)(\w+)", v).groups() for k, v in latency.items()}  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return LoadResult(
        requests_per_s=rps,
        p50_ms=_ms(*split["50"]),
        p99_ms=_ms(*split["99"]),
        errors=int(errors.group(1)) if errors else 0,
    )


def machine() -> str:
    versions = ", ".join(
        f"{name} {metadata.version(name)}" for name in ("litestar", "uvicorn", "msgspec")
    )
    return (
        f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{versions}, load generator: wrk"
    )


def report_best(
    runs: Mapping[str, list[LoadResult]],
    *,
    connections: int,
    rounds: int,
    seconds: float,
    load_before: tuple[float, ...],
    versions: str,
    admin_dsn: str,
) -> dict[str, LoadResult]:
    """Print each contender's best round beside the run's conditions and return them; a
    contender that answered errors did not do the work compared, so the run stops there."""
    best = {label: max(r, key=lambda x: x.requests_per_s) for label, r in runs.items()}
    print(
        f"{connections} connections, 2 wrk threads, best of {rounds} rounds of "
        f"{seconds} s; load average before the run "
        f"{' '.join(f'{x:.2f}' for x in load_before)}"
    )
    print(f"  {machine()}")
    print(f"  {versions}; admin DSN {admin_dsn.rsplit('@', 1)[-1]}")
    for label, result in best.items():
        print(
            f"  {label:26s} {result.requests_per_s:9,.0f} req/s   p50 {result.p50_ms:6.2f} ms"
            f"   p99 {result.p99_ms:6.2f} ms   error answers {result.errors}"
        )
    failing = [label for label, result in best.items() if result.errors]
    if failing:
        sys.exit(f"error answers from {', '.join(failing)}: the comparison is void")
    return best
