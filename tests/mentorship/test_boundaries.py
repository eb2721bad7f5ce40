"""Mentorship's and the curriculum's import contracts (pyproject.toml) catch what they
forbid: the curriculum importing mentorship, an api reading a store, and another domain
reaching past the curriculum's public surface."""

from __future__ import annotations

from pathlib import Path

from tests.foundation.test_architecture import copy_sources, lint_imports

PLANTED = {
    Path("src/dracarys/curriculum/courses/service.py"): "import dracarys.mentorship",
    Path("src/dracarys/mentorship/api.py"): "from dracarys.mentorship.sessions import store",
    Path("src/dracarys/wallet/escrow/service.py"): "from dracarys.curriculum.courses import store",
}


def test_planted_imports_across_the_boundaries_break_their_contracts(tmp_path: Path) -> None:
    tree = copy_sources(tmp_path)
    for module, line in PLANTED.items():
        path = tree / module
        path.write_text(path.read_text() + f"\n{line}  # planted\n")

    result = lint_imports(tree)

    assert result.returncode == 1, result.stdout
    report = " ".join(result.stdout.split())
    assert "dracarys.curriculum.courses.service -> dracarys.mentorship" in report
    assert "dracarys.mentorship.api -> dracarys.mentorship.sessions.store" in report
    assert "dracarys.wallet.escrow.service -> dracarys.curriculum.courses.store" in report
    for contract in (
        "the curriculum never imports mentorship BROKEN",
        "Mentorship's api calls services, never a store BROKEN",
        "The curriculum is reached through its __all__ (the composition root mounts its "
        "api) BROKEN",
    ):
        assert contract in report
