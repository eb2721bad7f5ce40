"""The architecture's import contracts (import-linter, configured in pyproject.toml) hold,
and they fail when a forbidden import is planted."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = {
    "dracarys": ROOT / "src" / "dracarys",
    **{p: ROOT / p for p in ("engine", "streams", "workers")},
}


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` over the packages found under `tree` (a copy of the sources or the
    repository itself), with the project's contracts."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": f"{tree / 'src'}:{tree}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def copy_sources(destination: Path) -> Path:
    for name, source in PACKAGES.items():
        target = destination / "src" / name if name == "dracarys" else destination / name
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.sql"))
    return destination


def test_the_import_contracts_hold() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 broken" in result.stdout


def test_the_engine_importing_the_platform_breaks_a_contract(tmp_path: Path) -> None:
    tree = copy_sources(tmp_path)
    metrics = tree / "engine" / "metrics.py"
    metrics.write_text(metrics.read_text() + "\nimport dracarys.wallet  # planted\n")
    result = lint_imports(tree)
    assert result.returncode == 1, result.stdout
    assert "engine.metrics -> dracarys.wallet" in result.stdout


def test_the_platform_importing_a_domain_breaks_the_core_contract(tmp_path: Path) -> None:
    tree = copy_sources(tmp_path)
    platform = tree / "src" / "dracarys" / "platform.py"
    platform.write_text(platform.read_text() + "\nimport dracarys.realtime  # planted\n")
    result = lint_imports(tree)
    assert result.returncode == 1, result.stdout
    assert "imports no domain BROKEN" in result.stdout
    assert "dracarys.platform -> dracarys.realtime" in result.stdout


def test_an_api_reaching_its_store_or_another_domains_internals_breaks_contracts(
    tmp_path: Path,
) -> None:
    tree = copy_sources(tmp_path)
    identity_api = tree / "src" / "dracarys" / "identity" / "api.py"
    identity_api.write_text(identity_api.read_text() + "\nimport dracarys.identity.kyc.store\n")
    realtime_api = tree / "src" / "dracarys" / "realtime" / "api.py"
    realtime_api.write_text(realtime_api.read_text() + "\nimport dracarys.identity.store\n")
    result = lint_imports(tree)
    assert result.returncode == 1, result.stdout
    assert "dracarys.identity.api -> dracarys.identity.kyc.store" in result.stdout
    assert "dracarys.realtime.api -> dracarys.identity.store" in result.stdout


def test_a_producer_importing_points_breaks_the_contract_that_keeps_discount_codes_in_the_wallet(
    tmp_path: Path,
) -> None:
    tree = copy_sources(tmp_path)
    enrolment = tree / "src" / "dracarys" / "curriculum" / "enrolment" / "service.py"
    enrolment.write_text(enrolment.read_text() + "\nimport dracarys.points  # planted\n")
    result = lint_imports(tree)
    assert result.returncode == 1, result.stdout
    assert "none of them imports points" in result.stdout
    assert "dracarys.curriculum.enrolment.service -> dracarys.points" in result.stdout
