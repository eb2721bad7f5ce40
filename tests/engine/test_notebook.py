"""The example notebook runs from top to bottom in a real kernel, draws its plots, and
reports the figures the engine gives for the same runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import nbformat
import numpy as np
from nbclient import NotebookClient

from engine.data import Bars, load
from engine.portfolio import PortfolioSizing, run_portfolio
from engine.runner import run_backtest
from engine.strategy import ExecutionSettings, SpecBuilder
from engine.sweep import grid, run_sweep

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "engine_quickstart.ipynb"
DATA = ROOT / "data"


def _executed() -> Any:
    notebook = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]
    # A cell that raises fails the run (CellExecutionError names the cell).
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()
    return notebook


def _expected_summary() -> dict[str, Any]:
    builder = SpecBuilder("sma_cross")
    params = {**builder.defaults, "fast": 10, "slow": 30}
    execution = ExecutionSettings(initial_cash=10_000.0, commission_bps=5.0)
    bars = Bars.from_frame(load(DATA / "sample_daily.csv"), "SAMPLE")
    single = run_backtest(bars, builder.build(params), execution)
    combos = grid({"fast": range(5, 30, 5), "slow": range(30, 110, 10)})
    best = run_sweep(bars, builder, combos, execution, rank_by="sharpe").ranking.row(0, named=True)
    basket = [
        Bars.from_frame(load(DATA / f"sample_daily{suffix}.csv"), symbol)
        for suffix, symbol in (("", "A"), ("_b", "B"), ("_c", "C"))
    ]
    portfolio = run_portfolio(
        basket, builder.build(params), execution, PortfolioSizing(rebalance_every=21)
    )
    return {
        "backtest_total_return_pct": msgspec.to_builtins(single.metrics)["total_return_pct"],
        "sweep_combinations": len(combos),
        "sweep_best": {"fast": best["fast"], "slow": best["slow"]},
        "portfolio_final_equity": float(portfolio.equity[-1]),
    }


def test_the_example_notebook_runs_plots_and_reports_what_the_engine_computes() -> None:
    notebook = _executed()
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    images = [out for out in outputs if "image/png" in out.get("data", {})]
    assert len(images) == 3  # the equity curve, the sweep heatmap, the portfolio
    tables = [out for out in outputs if "text/html" in out.get("data", {})]
    assert len(tables) >= 4  # polars frames render as HTML tables

    printed = "".join(out.text for out in notebook.cells[-1].outputs if out.output_type == "stream")
    summary = json.loads(printed)
    expected = _expected_summary()
    assert summary["sweep_combinations"] == expected["sweep_combinations"] == 40
    assert summary["sweep_best"] == expected["sweep_best"]
    assert np.isclose(summary["backtest_total_return_pct"], expected["backtest_total_return_pct"])
    assert np.isclose(summary["portfolio_final_equity"], expected["portfolio_final_equity"])
