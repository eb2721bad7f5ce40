"""Demo data for the embedded platform: each domain contributes a seeder that is safe to
run again (it upserts on natural keys), so `dracarys up` can seed on every start. Part of
the composition root: the seeders are listed here, in the order they build on each
other, and nowhere else."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog

from dracarys.backtests import seed_backtests_demo
from dracarys.community import seed_community_demo
from dracarys.curriculum import seed_curriculum_demo
from dracarys.identity import seed_identity_demo
from dracarys.mentorship import seed_mentorship_demo
from dracarys.platform import Platform
from dracarys.points import seed_points_demo
from dracarys.trading import seed_trading_demo
from dracarys.wallet import seed_wallet_demo

log = structlog.get_logger("dracarys.demo")

DemoSeeder = Callable[[Platform], Awaitable[None]]

# In dependency order: later seeders may use what earlier ones created.
DEMO_SEEDERS: tuple[tuple[str, DemoSeeder], ...] = (
    ("identity", seed_identity_demo),
    ("mentorship", seed_mentorship_demo),
    ("curriculum", seed_curriculum_demo),
    ("wallet", seed_wallet_demo),
    ("points", seed_points_demo),
    ("backtests", seed_backtests_demo),
    ("trading", seed_trading_demo),
    ("community", seed_community_demo),
)


async def seed_demo(platform: Platform) -> list[str]:
    done: list[str] = []
    for name, seeder in DEMO_SEEDERS:
        await seeder(platform)
        done.append(name)
    log.info("demo_seeded", seeders=done)
    return done
