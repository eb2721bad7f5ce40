"""The wallet's import contracts (pyproject.toml) bite: another domain reaching past the
wallet's public surface, a handler importing a store, a store importing upward and the
shared vocabulary importing a sub-area each break one."""

from __future__ import annotations

from pathlib import Path

from tests.foundation.test_architecture import copy_sources, lint_imports

PLANTS = {
    "trading/signals/service.py": "dracarys.wallet.deposits.store",
    "wallet/charges/api.py": "dracarys.wallet.ledger.store",
    "wallet/escrow/store.py": "dracarys.wallet.escrow.service",
    "wallet/policy.py": "dracarys.wallet.ledger.service",
}


def test_each_wallet_contract_breaks_on_a_planted_import(tmp_path: Path) -> None:
    tree = copy_sources(tmp_path)
    for module, target in PLANTS.items():
        path = tree / "src" / "dracarys" / module
        path.write_text(path.read_text() + f"\nimport {target}  # planted\n")
    result = lint_imports(tree)
    assert result.returncode == 1, result.stdout
    report = result.stdout
    assert "dracarys.trading.signals.service -> dracarys.wallet.deposits.store" in report
    assert "dracarys.wallet.charges.api -> dracarys.wallet.ledger.store" in report
    assert "dracarys.wallet.escrow.store -> dracarys.wallet.escrow.service" in report
    assert "dracarys.wallet.policy is not allowed to import dracarys.wallet.ledger" in report
