"""The production image and compose file, checked for what can be checked without a Docker
engine (there is none on the test machines): the containers run the same `dracarys`
commands the multi-process tests run, start in the right order, are probed, are given
longer to stop than the graceful shutdown takes, and the example settings load."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from dracarys.settings import load_settings
from workers.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = {"migrate", "api", "worker", "scheduler", "paper-engine"}
LONG_RUNNING = APP_SERVICES - {"migrate"}


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def runtime_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def image_environment() -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, rest in runtime_stage():
        if keyword == "ENV":
            env.update(part.split("=", 1) for part in shlex.split(rest))  # type: ignore[misc]
    return env


def example_environment() -> dict[str, str]:
    env = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            env[name.strip()] = value.strip()
    return env


def seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)(s|m)", duration)
    assert match is not None, duration
    return int(match.group(1)) * (60 if match.group(2) == "m" else 1)


def test_every_container_runs_a_dracarys_command_the_multi_process_tests_run(
    services: dict[str, dict[str, Any]],
) -> None:
    assert services.keys() >= APP_SERVICES
    expected = {
        "migrate": "migrate",
        "api": "serve",
        "worker": "worker",
        "scheduler": "scheduler",
        "paper-engine": "paper-engine",
    }
    images = {services[name]["image"] for name in APP_SERVICES}
    assert len(images) == 1, "every process runs the one image"
    for name in APP_SERVICES:
        command = services[name]["command"]
        assert command[0] == expected[name]
        build_parser().parse_args(command)  # exits (failing the test) on a bad argument
    assert ("ENTRYPOINT", '["dracarys"]') in runtime_stage()


def test_processes_start_after_the_migration_and_healthy_postgres_and_redis(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in LONG_RUNNING:
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }, name
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["migrate"]["restart"] == "no"
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"], name
        assert services[name]["volumes"], f"{name} keeps its data in a volume"
    redis_command = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in redis_command


def test_the_api_is_probed_on_ready_and_scaled_behind_the_proxy(
    services: dict[str, dict[str, Any]],
) -> None:
    api = services["api"]
    assert "http://127.0.0.1:8000/ready" in " ".join(api["healthcheck"]["test"])
    assert image_environment()["DRACARYS_PORT"] == "8000"
    assert api["deploy"]["replicas"] >= 2
    assert services["worker"]["deploy"]["replicas"] >= 1
    assert "ports" not in api, "replicas cannot share a host port; the proxy publishes one"
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert re.search(r"name api\s+port 8000", caddyfile)
    assert services["proxy"]["depends_on"] == {"api": {"condition": "service_healthy"}}
    for name in LONG_RUNNING - {"api"}:
        # They serve no HTTP: the image's /health probe would mark them unhealthy.
        assert services[name]["healthcheck"] == {"disable": True}, name


def test_containers_get_longer_to_stop_than_the_graceful_shutdown_takes(
    services: dict[str, dict[str, Any]],
) -> None:
    grace_s = float(example_environment()["DRACARYS_SHUTDOWN_GRACE_S"])
    for name in LONG_RUNNING:
        # Past the grace, a worker takes up to 5 s to let cancelled tasks roll back and
        # 5 s to hand their messages back (workers/runtime.py, Worker.stop).
        assert seconds(services[name]["stop_grace_period"]) >= grace_s + 10, name
        assert services[name]["init"] is True, name
    assert ("STOPSIGNAL", "SIGTERM") in runtime_stage()


def test_the_example_settings_load_as_the_image_runs_them() -> None:
    example = example_environment()
    for name in ("DATABASE_URL", "REDIS_URL", "DRACARYS_SECRET_KEY", "DRACARYS_PUBLIC_URL"):
        assert example[name], name
    settings = load_settings({**image_environment(), **example})
    assert settings.env == "production"
    assert settings.host == "0.0.0.0"  # noqa: S104 - inside its container
    assert settings.data_dir == "/var/lib/dracarys"
    assert urlsplit(settings.database_url or "").password == example["POSTGRES_PASSWORD"]
    assert settings.public_url in settings.allowed_origins


def test_the_image_runs_unprivileged_from_the_lock_without_dev_dependencies() -> None:
    instructions = dockerfile_instructions()
    runs = " ".join(rest for keyword, rest in instructions if keyword == "RUN")
    assert "uv sync --locked --no-dev" in runs
    users = [rest for keyword, rest in runtime_stage() if keyword == "USER"]
    assert users, "the runtime stage names a user"
    assert users[-1] not in {"root", "0"}
    assert "/health" in " ".join(
        rest for keyword, rest in runtime_stage() if keyword == "HEALTHCHECK"
    )
    assert image_environment()["NUMBA_CACHE_DIR"].startswith("/var/cache/dracarys")
    assert "/var/cache/dracarys/numba" in runs, "the Numba cache directory is made writable"


def test_the_build_context_holds_what_the_dockerfile_copies_and_no_secrets() -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert "*" in ignore, "the context is an allow-list"
    for keyword, rest in dockerfile_instructions():
        if keyword == "COPY" and "--from=" not in rest:
            *sources, _ = rest.split()
            for source in sources:
                assert source in allowed, f"{source} is copied but left out of the context"
                assert (ROOT / source).exists(), source
    assert not {".env", ".venv", ".git"} & allowed
