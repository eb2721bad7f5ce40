# Demo credentials are published in the README on purpose.
# ruff: noqa: S106
"""Demo accounts for `dracarys up`: a mentee, two vetted mentors (verified, past
probation), an admin and a reviewer (both with TOTP, as staff must). Ids are derived from
the e-mail address, so other seeders can refer to them; running again changes nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from dracarys.crypto import seal, totp_secret_key
from dracarys.db import transaction
from dracarys.identity import store
from dracarys.identity.passwords import hash_password
from dracarys.identity.personal import personal_data_cipher
from dracarys.identity.profiles import store as profiles_store
from dracarys.platform import Platform


@dataclass(frozen=True, slots=True)
class DemoAccount:
    email: str
    password: str
    name: str
    role: str
    phone: str
    kyc_level: int
    totp_secret: str | None = None
    profile: dict[str, object] = field(default_factory=dict)
    mentor: dict[str, object] = field(default_factory=dict)

    @property
    def id(self) -> uuid.UUID:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"dracarys-demo:{self.email}")


DEMO_MENTEE = DemoAccount(
    email="mentee@demo.dracarys.dev",
    password="demo-mentee-Tsavo-2026",
    name="Amina Njeri",
    role="mentee",
    phone="+254711000001",
    kyc_level=1,
    profile={
        "headline": "Learning to swing-trade forex",
        "bio": "Accountant in Nairobi, two years of paper trading.",
        "specialties": ["forex", "swing_trading"],
        "timezone": "Africa/Nairobi",
        "experience_level": "beginner",
        "trading_style": "swing_trader",
    },
)
DEMO_MENTORS = (
    DemoAccount(
        email="mentor@demo.dracarys.dev",
        password="demo-mentor-Lamu-2026",
        name="Baraka Otieno",
        role="mentor",
        phone="+254711000002",
        kyc_level=2,
        profile={
            "headline": "Forex scalper, 9 years on the London session",
            "bio": "Former bank FX desk trader; teaches risk first.",
            "specialties": ["forex", "risk_management", "scalping"],
            "social_links": {"x": "https://x.com/baraka_fx"},
            "timezone": "Africa/Nairobi",
            "experience_level": "professional",
            "trading_style": "scalper",
        },
        mentor={
            "specialties": ["forex", "risk_management", "scalping"],
            "hourly_rate_minor": 250_000,
            "currency": "KES",
            "verified": True,
            "on_probation": False,
        },
    ),
    DemoAccount(
        email="mentor2@demo.dracarys.dev",
        password="demo-mentor-Lamu-2026",
        name="Chloe Wambui",
        role="mentor",
        phone="+254711000003",
        kyc_level=2,
        profile={
            "headline": "Options income and crypto volatility",
            "bio": "Runs a small prop book; covered calls, spreads and BTC vol.",
            "specialties": ["crypto", "options"],
            "timezone": "Europe/London",
            "experience_level": "professional",
            "trading_style": "position_trader",
        },
        mentor={
            "specialties": ["crypto", "options"],
            "hourly_rate_minor": 6_000,
            "currency": "USD",
            "verified": True,
            "on_probation": False,
        },
    ),
)
DEMO_ADMIN = DemoAccount(
    email="admin@demo.dracarys.dev",
    password="demo-admin-Kilimanjaro-2026",
    name="Dracarys Admin",
    role="admin",
    phone="+254711000004",
    kyc_level=1,
    totp_secret="DRACARYSDEMOADMINTOTPSECRETA2345",
)
DEMO_REVIEWER = DemoAccount(
    email="reviewer@demo.dracarys.dev",
    password="demo-reviewer-Naivasha-2026",
    name="Dracarys Reviewer",
    role="reviewer",
    phone="+254711000005",
    kyc_level=1,
    totp_secret="DRACARYSDEMOREVIEWERTOTPSECRET23",
)
DEMO_ACCOUNTS = (DEMO_MENTEE, *DEMO_MENTORS, DEMO_ADMIN, DEMO_REVIEWER)


async def seed_identity_demo(platform: Platform) -> None:
    now = platform.clock.now()
    cipher = personal_data_cipher(platform.settings)
    for account in DEMO_ACCOUNTS:
        async with platform.pool.acquire() as conn:
            existing = await store.user_by_email_index(conn, cipher.email_index(account.email))
            if existing is not None:
                continue
        password_hash = await hash_password(account.password)
        sealed = (
            seal(totp_secret_key(platform.settings), account.totp_secret.encode(), account.id.bytes)
            if account.totp_secret
            else None
        )
        async with transaction(platform.pool) as conn:
            created = await store.insert_demo_user(
                conn,
                user_id=account.id,
                contact=cipher.seal_contact(
                    account.id, email=account.email, name=account.name, phone=account.phone
                ),
                role=account.role,
                kyc_level=account.kyc_level,
                password_hash=password_hash,
                totp_secret_encrypted=sealed,
                now=now,
            )
            if not created:
                continue
            if account.profile:
                await profiles_store.update_profile(conn, account.id, dict(account.profile), now)
                await profiles_store.mark_profile_completed(conn, account.id, now)
            if account.mentor:
                await profiles_store.ensure_mentor_profile(conn, account.id, now)
                await profiles_store.update_mentor_profile(
                    conn, account.id, dict(account.mentor), now
                )
