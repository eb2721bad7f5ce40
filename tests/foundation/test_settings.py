from __future__ import annotations

import os
from pathlib import Path

import pytest

from dracarys.settings import SettingsError, load_settings


def base(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"DRACARYS_DATA_DIR": str(tmp_path), **extra}


def test_defaults_describe_the_embedded_mode(tmp_path: Path) -> None:
    settings = load_settings(base(tmp_path))
    assert settings.embedded_database
    assert not settings.uses_redis
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)


def test_without_a_database_url_mail_goes_to_files_unless_told_otherwise(tmp_path: Path) -> None:
    assert load_settings(base(tmp_path)).outbound == "files"
    dsn = "postgresql://postgres@127.0.0.1:5432/postgres"
    assert load_settings(base(tmp_path, DATABASE_URL=dsn)).outbound == "providers"
    told = base(tmp_path, DRACARYS_OUTBOUND="providers")
    assert load_settings(told).outbound == "providers"


def test_generated_development_secret_is_kept_between_starts(tmp_path: Path) -> None:
    first = load_settings(base(tmp_path)).secret_key
    assert len(first) >= 32
    assert load_settings(base(tmp_path)).secret_key == first


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("DRACARYS_PORT", "eighty", "DRACARYS_PORT"),
        ("DRACARYS_PORT", "70000", "DRACARYS_PORT"),
        ("DATABASE_URL", "mysql://db/app", "DATABASE_URL"),
        ("REDIS_URL", "http://cache", "REDIS_URL"),
        ("DRACARYS_ENV", "prod", "DRACARYS_ENV"),
        ("DRACARYS_SEED_DEMO", "maybe", "DRACARYS_SEED_DEMO"),
        ("DRACARYS_OUTBOX_POLL_INTERVAL_S", "0", "DRACARYS_OUTBOX_POLL_INTERVAL_S"),
        ("DRACARYS_SECRET_KEY", "short", "DRACARYS_SECRET_KEY"),
        ("DRACARYS_ALLOWED_ORIGINS", "ftp://x", "DRACARYS_ALLOWED_ORIGINS"),
        ("DRACARYS_REDIS_PREFIX", "Bad Prefix!", "DRACARYS_REDIS_PREFIX"),
        ("DRACARYS_TRUSTED_PROXIES", "10.0.0.0/33", "DRACARYS_TRUSTED_PROXIES"),
        ("DRACARYS_TRUSTED_PROXIES", "proxy.internal", "DRACARYS_TRUSTED_PROXIES"),
        ("DRACARYS_RATE_LIMIT_PER_MINUTE", "0", "DRACARYS_RATE_LIMIT_PER_MINUTE"),
    ],
)
def test_bad_value_is_refused_naming_the_variable(
    tmp_path: Path, variable: str, value: str, named: str
) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(base(tmp_path, **{variable: value}))


def test_secret_key_is_never_echoed_in_errors_or_repr(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(base(tmp_path, DRACARYS_SECRET_KEY="hunter2-too-short"))
    assert "hunter2" not in str(caught.value)
    settings = load_settings(base(tmp_path, DRACARYS_SECRET_KEY="s" * 40))
    assert "s" * 40 not in repr(settings)


def test_production_requires_an_explicit_secret(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="DRACARYS_SECRET_KEY"):
        load_settings(base(tmp_path, DRACARYS_ENV="production"))


def test_pool_bounds_are_checked_together(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="DRACARYS_DB_POOL_MIN_SIZE"):
        load_settings(base(tmp_path, DRACARYS_DB_POOL_MIN_SIZE="30", DRACARYS_DB_POOL_MAX_SIZE="5"))


def test_values_are_converted_to_their_types(tmp_path: Path) -> None:
    settings = load_settings(
        base(
            tmp_path,
            DRACARYS_PORT="9001",
            DRACARYS_SEED_DEMO="false",
            DRACARYS_ALLOWED_ORIGINS="https://a.example, https://b.example/",
            DRACARYS_LOG_LEVEL="debug",
            REDIS_URL="redis://127.0.0.1:6379/0",
            DRACARYS_TRUSTED_PROXIES="10.0.0.0/8, 127.0.0.1,",
        )
    )
    assert settings.port == 9001
    assert settings.trusted_proxies == ("10.0.0.0/8", "127.0.0.1")
    assert settings.seed_demo is False
    assert settings.allowed_origins == ("https://a.example", "https://b.example")
    assert settings.log_level == "DEBUG"
    assert settings.uses_redis


def test_public_url_and_origins_follow_the_port_unless_set(tmp_path: Path) -> None:
    derived = load_settings(base(tmp_path, DRACARYS_PORT="8123"))
    assert derived.public_url == "http://127.0.0.1:8123"
    assert derived.allowed_origins == ("http://127.0.0.1:8123", "http://localhost:8123")

    explicit = load_settings(
        base(
            tmp_path,
            DRACARYS_PORT="8123",
            DRACARYS_PUBLIC_URL="https://dracarys.example",
            DRACARYS_ALLOWED_ORIGINS="https://app.dracarys.example",
        )
    )
    assert explicit.public_url == "https://dracarys.example"
    assert explicit.allowed_origins == ("https://app.dracarys.example",)


def test_serve_runs_one_api_process_per_core_only_when_redis_links_them(tmp_path: Path) -> None:
    from workers.cli import serve_workers

    alone = load_settings(base(tmp_path))
    linked = load_settings(base(tmp_path, REDIS_URL="redis://127.0.0.1:6379/0"))
    assert serve_workers(None, alone) == 1
    assert serve_workers(None, linked) == (os.cpu_count() or 1)
    assert serve_workers(3, linked) == 3
    with pytest.raises(SystemExit, match="needs REDIS_URL"):
        serve_workers(2, alone)
    with pytest.raises(SystemExit, match="at least 1"):
        serve_workers(0, linked)
