"""The ``dracarys backtest`` command: through the installed ``dracarys`` program, and
in-process for the rest."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import backtest_main

SAMPLE = str(Path(__file__).parents[2] / "data" / "sample_daily.csv")
REQUIRED = {
    "final_equity",
    "total_return_pct",
    "trades",
    "sharpe",
    "sortino",
    "max_drawdown_pct",
    "win_rate_pct",
}


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:  # type: ignore[type-arg]
    assert backtest_main(["--data", SAMPLE, "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_json_output_has_the_documented_fields(capsys: pytest.CaptureFixture[str]) -> None:
    document = run_json(
        capsys, "--strategy", "sma_cross", "--param", "fast=10", "--param", "slow=30"
    )
    assert set(document) >= REQUIRED
    assert document["parameters"] == {"fast": 10.0, "slow": 30.0}
    assert document["trades"] > 0


def test_the_installed_dracarys_program_runs_backtest(
    capsys: pytest.CaptureFixture[str],
) -> None:
    program = Path(sys.executable).with_name("dracarys")
    args = ["--strategy", "sma_cross", "--param", "fast=10", "--param", "slow=30"]
    ran = subprocess.run(
        [str(program), "backtest", "--data", SAMPLE, "--json", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    via_program, in_process = json.loads(ran.stdout), run_json(capsys, *args)
    via_program.pop("elapsed_s")
    in_process.pop("elapsed_s")
    assert via_program == in_process

    def output(*command: str) -> str:
        done = subprocess.run(
            [str(program), *command], capture_output=True, text=True, timeout=120, check=True
        )
        return done.stdout

    assert "backtest" in output("--help")
    usage = output("backtest", "--help")
    assert "--sweep" in usage
    assert "--allow-short" in usage


def test_same_command_twice_prints_identical_results(capsys: pytest.CaptureFixture[str]) -> None:
    args = (
        "--strategy",
        "sma_cross",
        "--commission-bps",
        "5",
        "--slippage-bps",
        "2",
        "--allow-short",
    )
    first = run_json(capsys, *args)
    second = run_json(capsys, *args)
    first.pop("elapsed_s")
    second.pop("elapsed_s")
    assert first == second


def test_costs_fill_and_sizing_flags_change_the_result(capsys: pytest.CaptureFixture[str]) -> None:
    base = run_json(capsys, "--strategy", "sma_cross")
    costly = run_json(capsys, "--strategy", "sma_cross", "--commission-bps", "20")
    at_close = run_json(capsys, "--strategy", "sma_cross", "--fill", "close")
    whole = run_json(
        capsys, "--strategy", "sma_cross", "--whole-units", "--sizing", "all_in", "--cash", "1000"
    )
    assert costly["final_equity"] < base["final_equity"]
    assert at_close["final_equity"] != base["final_equity"]
    assert whole["trades"] == base["trades"]


def test_sweep_with_report_writes_a_self_contained_html(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    report = tmp_path / "out.html"
    document = run_json(
        capsys,
        "--strategy",
        "sma_cross",
        "--sweep",
        "fast=5:15:5",
        "--sweep",
        "slow=20:40:10",
        "--report",
        str(report),
    )
    assert document["sweep"]["combinations"] == 9
    assert document["sweep"]["top"][0]["sharpe"] == document["sharpe"]
    assert 0.0 <= document["sweep"]["deflated_sharpe"] <= 1.0
    html = report.read_text()
    assert html.count("<svg") == 3
    assert "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "sweep heatmap" in html
    # One ▲ per entry and one ▼ per closed trade, on the bars the trade list gives.
    entries = re.findall(r"<title>entry bar (\d+)</title>", html)
    exits = re.findall(r"<title>exit bar (\d+)</title>", html)
    still_open = 1 if document["open_position"] else 0
    assert len(entries) == document["trades"] + still_open
    assert len(exits) == document["trades"]
    assert all(int(e) < int(x) for e, x in zip(entries, exits, strict=False))


def test_walk_forward_flag_reports_folds(capsys: pytest.CaptureFixture[str]) -> None:
    document = run_json(
        capsys,
        "--strategy",
        "sma_cross",
        "--sweep",
        "fast=5,10",
        "--sweep",
        "slow=30,60",
        "--walk-forward",
        "2",
    )
    assert len(document["walk_forward"]["folds"]) == 2


def test_table_output_for_people(capsys: pytest.CaptureFixture[str]) -> None:
    assert backtest_main(["--data", SAMPLE, "--strategy", "rsi_reversion"]) == 0
    assert "sharpe" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategy", "nope"], "neither a template"),
        (["--strategy", "sma_cross", "--param", "fast"], "NAME=VALUE"),
        (["--strategy", "sma_cross", "--param", "fast=0"], "window"),
        (["--strategy", "sma_cross", "--cash", "-5"], "initial_cash"),
    ],
)
def test_bad_input_exits_2_with_the_reason(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert backtest_main(["--data", SAMPLE, *args]) == 2
    assert message in capsys.readouterr().err


def test_a_sweep_shows_a_progress_bar_on_stderr_and_json_output_stays_clean(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sweep = ["--strategy", "sma_cross", "--sweep", "fast=5:15:5", "--sweep", "slow=20:40:10"]
    assert backtest_main(["--data", SAMPLE, *sweep]) == 0
    shown = capsys.readouterr()
    assert "sweep" in shown.err
    assert "9/9" in shown.err  # every combination counted
    assert "9/9" not in shown.out
    machine = run_json(capsys, *sweep)  # --json with stderr not a terminal: no bar
    assert machine["sweep"]["combinations"] == 9
    assert "9/9" not in capsys.readouterr().err


def write_symbols(tmp_path: Path) -> list[str]:
    from engine.synthetic import generate_daily

    paths = []
    for seed, name in ((21, "AAA"), (22, "BBB")):
        path = tmp_path / f"{name}.csv"
        generate_daily(300, seed=seed).write_csv(path)
        paths.append(str(path))
    return paths


def test_several_data_files_make_a_shared_cash_run_with_per_asset_and_portfolio_metrics(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first, second = write_symbols(tmp_path)
    args = ["--strategy", "sma_cross", "--param", "fast=5", "--param", "slow=20"]
    code = backtest_main(["--data", first, "--data", second, "--json", *args])
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    assert document["symbols"] == ["AAA", "BBB"]
    assert set(document["portfolio"]) >= REQUIRED
    assert [asset["symbol"] for asset in document["assets"]] == ["AAA", "BBB"]
    contributions = sum(asset["contribution"] for asset in document["assets"])
    profit = document["portfolio"]["final_equity"] - 10_000.0
    assert contributions == pytest.approx(profit, abs=1e-6)
    assert all(asset["round_trips"] > 0 for asset in document["assets"])

    assert backtest_main(["--data", first, "--data", second, *args, "--rebalance-every", "5"]) == 0
    table = capsys.readouterr().out
    assert "shared cash" in table
    assert "AAA" in table
    assert "sharpe" in table


def test_a_multi_asset_run_names_the_option_it_refuses(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first, second = write_symbols(tmp_path)
    code = backtest_main(
        [
            "--data",
            first,
            "--data",
            second,
            "--strategy",
            "sma_cross",
            "--portfolio-sizing",
            "target_weights",
            "--weights",
            "0.5",
        ]
    )
    assert code == 2
    assert "--weights" in capsys.readouterr().err


def test_a_multi_asset_report_holds_the_per_asset_table_and_the_portfolio_equity(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first, second = write_symbols(tmp_path)
    report = tmp_path / "portfolio.html"
    args = ["--data", first, "--data", second, "--strategy", "sma_cross", "--json"]
    assert backtest_main([*args, "--report", str(report)]) == 0
    document = json.loads(capsys.readouterr().out)
    html = report.read_text()
    assert "<h2>Per asset</h2>" in html
    assert "<h2>Portfolio equity</h2>" in html
    assert "<svg" in html
    assert "http" not in html
    per_asset = html.split("<h2>Per asset</h2>")[1].split("<h2>")[0]
    for asset in document["assets"]:
        assert f"<td>{asset['symbol']}</td><td>{asset['contribution']:,.4f}</td>" in per_asset
