"""Authenticated `GET /api/v1/me` (bearer JWT verified, session and user read from
PostgreSQL, the caller's record returned) next to the foundation benchmark's bare
Litestar `GET /health`, with the same server (uvicorn, uvloop, httptools, one process)
and load generator (wrk), in one run; the full app's `/health` is shown for context.

    uv run python benchmarks/identity_me.py [--seconds 10] [--connections 64] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from foundation_health import create_database, drop_database
from httpload import LoadResult, machine, served, wrk

PASSPHRASE = "benchmark pass phrase " + uuid.uuid4().hex[:8]


def _token(base: str) -> str:
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=base, timeout=30) as client:
        client.post("/api/v1/signup", json={"email": email, "password": PASSPHRASE})
        response = client.post("/api/v1/login", json={"email": email, "password": PASSPHRASE})
        response.raise_for_status()
        token: str = response.json()["access_token"]
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        me.raise_for_status()
        return token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    name, dsn = asyncio.run(create_database())
    env = {
        "DATABASE_URL": dsn,
        "DRACARYS_LOG_LEVEL": "WARNING",
        "DRACARYS_SEED_DEMO": "false",
        "DRACARYS_DATA_DIR": f"/tmp/{name}",
        # One client at full speed: counted per request like any other, never refused.
        "DRACARYS_RATE_LIMIT_PER_MINUTE": str(10**9),
    }
    runs: dict[str, list[LoadResult]] = {
        "bare Litestar /health": [],
        "Dracarys /health": [],
        "Dracarys /api/v1/me": [],
    }
    try:
        subprocess.run(
            [sys.executable, "-m", "workers.cli", "migrate"],
            env={**os.environ, **env},
            check=True,
            capture_output=True,
        )
        bare_env = {"PYTHONPATH": str(Path(__file__).parent)}
        # Alternate over rounds and keep each contender's best, as the foundation
        # benchmark does, so a burst of other load does not decide the comparison.
        for _ in range(args.rounds):
            with served("bare_litestar:app", factory=False, env=bare_env) as base:
                wrk(f"{base}/health", seconds=1, connections=args.connections)
                runs["bare Litestar /health"].append(
                    wrk(f"{base}/health", seconds=args.seconds, connections=args.connections)
                )
            with served("dracarys.app:create_app", factory=True, env=env) as base:
                token = _token(base)
                auth = {"Authorization": f"Bearer {token}"}
                wrk(f"{base}/api/v1/me", seconds=1, connections=args.connections, headers=auth)
                runs["Dracarys /api/v1/me"].append(
                    wrk(
                        f"{base}/api/v1/me",
                        seconds=args.seconds,
                        connections=args.connections,
                        headers=auth,
                    )
                )
                runs["Dracarys /health"].append(
                    wrk(f"{base}/health", seconds=args.seconds, connections=args.connections)
                )
    finally:
        asyncio.run(drop_database(name))

    results = {label: max(r, key=lambda x: x.requests_per_s) for label, r in runs.items()}
    print(
        f"{args.connections} connections, best of {args.rounds} rounds of {args.seconds} s "
        f"— {machine()}"
    )
    for label, result in results.items():
        print(
            f"  {label:22s} {result.requests_per_s:10,.0f} req/s   p50 {result.p50_ms:6.2f} ms"
            f"   p99 {result.p99_ms:6.2f} ms   non-2xx {result.errors}"
        )
    bare, me = results["bare Litestar /health"], results["Dracarys /api/v1/me"]
    print(
        f"  authenticated /api/v1/me vs bare Litestar /health: throughput "
        f"{me.requests_per_s / bare.requests_per_s:.2f}x, p99 {me.p99_ms / bare.p99_ms:.2f}x"
    )


if __name__ == "__main__":
    main()
