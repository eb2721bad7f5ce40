"""GET /health served by the full Dracarys app (every middleware on: request ids,
authentication, Prometheus, CORS, problem details) against the same handler in a bare
Litestar app, under the same server (uvicorn, uvloop, httptools, one process) and the same
load generator (wrk), in one run. Aim: Dracarys within 1.3x of bare Litestar.

    uv run python benchmarks/foundation_health.py [--seconds 10] [--connections 64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchdb import create_database, drop_database, dsn_for
from httpload import LoadResult, machine, served, wrk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    name = asyncio.run(create_database(migrated=False))
    dsn = dsn_for(name)
    env = {
        "DATABASE_URL": dsn,
        "DRACARYS_LOG_LEVEL": "WARNING",
        "DRACARYS_SEED_DEMO": "false",
        "DRACARYS_DATA_DIR": f"/tmp/{name}",
    }
    try:
        subprocess_env = {**os.environ, **env}
        import subprocess

        subprocess.run(
            [sys.executable, "-m", "workers.cli", "migrate"],
            env=subprocess_env,
            check=True,
            capture_output=True,
        )
        contenders = (
            (
                "bare Litestar",
                "bare_litestar:app",
                False,
                {"PYTHONPATH": str(Path(__file__).parent)},
            ),
            ("Dracarys", "dracarys.app:create_app", True, env),
        )
        runs: dict[str, list[LoadResult]] = {label: [] for label, *_ in contenders}
        # Alternate the contenders over several rounds and keep each one's best round, so
        # a burst of other load on the machine does not decide the comparison.
        for _ in range(args.rounds):
            for label, app, factory, extra in contenders:
                with served(app, factory=factory, env=extra) as base:
                    wrk(f"{base}/health", seconds=1, connections=args.connections)  # warm-up
                    runs[label].append(
                        wrk(f"{base}/health", seconds=args.seconds, connections=args.connections)
                    )
        results = {
            label: max(rounds, key=lambda r: r.requests_per_s) for label, rounds in runs.items()
        }
    finally:
        asyncio.run(drop_database(name))

    print(
        f"GET /health, {args.connections} connections, best of {args.rounds} rounds of "
        f"{args.seconds} s — {machine()}"
    )
    for label, result in results.items():
        print(
            f"  {label:14s} {result.requests_per_s:10,.0f} req/s   p50 {result.p50_ms:6.2f} ms"
            f"   p99 {result.p99_ms:6.2f} ms   non-2xx {result.errors}"
        )
    bare, ours = results["bare Litestar"], results["Dracarys"]
    ratio = bare.requests_per_s / ours.requests_per_s
    print(
        f"  ratio bare/Dracarys throughput: {ratio:.2f}x   "
        f"p99 ratio Dracarys/bare: {ours.p99_ms / bare.p99_ms:.2f}x   (aim: within 1.3x)"
    )


if __name__ == "__main__":
    main()
