"""The points contracts of pyproject.toml's import-linter section hold, and break when the
API reaches a store, a store reaches a service, or a worker reaches past `dracarys.points`."""

from __future__ import annotations

from pathlib import Path

from tests.foundation.test_architecture import copy_sources, lint_imports


def _plant(module: Path, line: str) -> None:
    module.write_text(module.read_text() + f"\n{line}  # planted\n")


def test_points_layering_breaks_on_planted_imports(tmp_path: Path) -> None:
    tree = copy_sources(tmp_path)
    points = tree / "src" / "dracarys" / "points"
    _plant(points / "api.py", "from dracarys.points.ledger import store as _store")
    _plant(points / "badges" / "store.py", "from dracarys.points.abuse import service as _service")
    _plant(tree / "workers" / "points_tasks.py", "from dracarys.points.awarding import service")
    result = lint_imports(tree)
    assert result.returncode == 1, result.stdout
    assert "dracarys.points.api -> dracarys.points.ledger.store" in result.stdout
    assert "dracarys.points.badges.store -> dracarys.points.abuse.service" in result.stdout
    assert "workers.points_tasks -> dracarys.points.awarding.service" in result.stdout
