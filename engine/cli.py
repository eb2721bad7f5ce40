"""``dracarys backtest``: run a strategy template or spec file over a data file, once or as a
parameter sweep (grid, random or walk-forward), print metrics (a rich table or one JSON
object) and optionally write a self-contained HTML report.

Several ``--data`` files (or ``--symbols A,B`` from one file holding several) make a
multi-asset run with one shared cash balance (``engine.portfolio``): it prints each
asset's contribution, trades and exposure and the portfolio's metrics.

The platform's ``dracarys`` command delegates here; ``python -m engine.cli`` runs it alone.
"""

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec
import polars as pl
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from engine.data import Bars, DataError, find_gaps, load, resample
from engine.metrics import METRIC_NAMES
from engine.portfolio import PortfolioSizing, run_portfolio
from engine.report import write_portfolio_report, write_report
from engine.runner import BacktestResult, run_backtest
from engine.strategy import (
    TEMPLATES,
    EntryOrder,
    ExecutionSettings,
    Risk,
    Sizing,
    SpecBuilder,
    SpecError,
)
from engine.sweep import (
    SweepResult,
    WalkForwardResult,
    best_deflated_sharpe,
    grid,
    parse_range,
    random_search,
    run_sweep,
    walk_forward,
)

SWEEP_ROWS_IN_JSON = 10
# The option a person typed for each field a portfolio run may refuse.
PORTFOLIO_OPTIONS = {
    "$.symbols": "--data/--symbols",
    "$.sizing.fraction": "--fraction",
    "$.sizing.target_weights": "--weights",
    "$.sizing.units": "--asset-units",
    "$.sizing.rebalance_every": "--rebalance-every",
    "$.allow_short": "--allow-short",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dracarys backtest",
        description="Backtest a strategy template or spec file on OHLCV data.",
        epilog="Templates: "
        + "; ".join(f"{t.name} ({', '.join(t.defaults)})" for t in TEMPLATES.values()),
    )
    parser.add_argument(
        "--data",
        required=True,
        action="append",
        help="CSV (Yahoo, bare, Binance, MetaTrader) or Parquet; repeat for a multi-asset run",
    )
    parser.add_argument("--symbol", help="symbol to use when the file holds several")
    parser.add_argument(
        "--symbols", help="several symbols of the data, comma-separated: a multi-asset run"
    )
    parser.add_argument(
        "--portfolio-sizing",
        choices=("fraction", "target_weights", "fixed_units"),
        default="fraction",
        help="multi-asset: --fraction of equity per asset (default an equal share), "
        "--weights per asset, or --asset-units per asset",
    )
    parser.add_argument("--weights", help="multi-asset target weights, comma-separated")
    parser.add_argument("--asset-units", help="multi-asset fixed quantities, comma-separated")
    parser.add_argument(
        "--rebalance-every", type=int, default=0, metavar="BARS", help="multi-asset rebalancing"
    )
    parser.add_argument("--resample", metavar="EVERY", help="aggregate bars first, e.g. 1h or 1d")
    parser.add_argument("--strategy", required=True, help="template name or spec JSON file")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--cash", type=float, default=10_000.0)
    parser.add_argument("--commission-bps", type=float, default=0.0)
    parser.add_argument("--commission-fixed", type=float, default=0.0, help="per order")
    parser.add_argument("--slippage-bps", type=float, default=0.0)
    parser.add_argument("--fill", choices=("next_open", "close"), default="next_open")
    parser.add_argument(
        "--sizing",
        choices=("all_in", "fixed_units", "fixed_fraction", "vol_target"),
        default="all_in",
    )
    parser.add_argument(
        "--fraction", type=float, help="all_in: of equity (default 1); fixed_fraction: risked"
    )
    parser.add_argument("--units", type=float, default=1.0, help="for fixed_units")
    parser.add_argument("--target-vol-pct", type=float, default=20.0, help="for vol_target")
    parser.add_argument("--whole-units", action="store_true")
    parser.add_argument("--allow-short", action="store_true")
    parser.add_argument(
        "--order", choices=("market", "limit", "stop", "stop_limit"), default="market"
    )
    parser.add_argument("--limit-offset-bps", type=float, default=0.0)
    parser.add_argument("--stop-offset-bps", type=float, default=0.0)
    parser.add_argument("--expiry-bars", type=int, default=0)
    parser.add_argument("--stop-loss-pct", type=float)
    parser.add_argument("--take-profit-pct", type=float)
    parser.add_argument("--trailing-stop-pct", type=float)
    parser.add_argument("--leverage", type=float, default=1.0, help="cap on notional / equity")
    parser.add_argument("--maintenance-margin-pct", type=float, default=0.0)
    parser.add_argument("--sweep", action="append", default=[], metavar="NAME=START:STOP:STEP")
    parser.add_argument(
        "--random", type=int, metavar="N", help="random search: N combinations of the grid"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rank-by", default="sharpe", choices=METRIC_NAMES)
    parser.add_argument(
        "--walk-forward", type=int, metavar="FOLDS", help="walk-forward over the sweep"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--report", metavar="OUT.html")
    return parser


def _parse_params(items: Sequence[str]) -> dict[str, float]:
    params: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise SpecError(f"--param {item}", "expected NAME=VALUE")
        try:
            params[name] = float(value)
        except ValueError:
            raise SpecError(f"--param {item}", f"{value!r} is not a number") from None
    return params


def _metrics_document(result: BacktestResult) -> dict[str, Any]:
    document: dict[str, Any] = msgspec.to_builtins(result.metrics)
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v)
        for k, v in document.items()
    }


def _frame_rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    rows = frame.with_columns(pl.selectors.float().fill_nan(None)).to_dicts()
    return [{k: (str(v) if hasattr(v, "isoformat") else v) for k, v in row.items()} for row in rows]


def backtest_main(argv: Sequence[str] | None = None) -> int:
    """Run ``dracarys backtest`` with ``argv`` (without the program name); 0 on success,
    2 on bad input (with the reason on stderr)."""
    args = build_parser().parse_args(argv)
    out = Console()
    err = Console(stderr=True)
    try:
        return _run(args, out, err)
    except (DataError, SpecError, ValueError, msgspec.ValidationError, OSError) as error:
        err.print(f"[red]error:[/red] {error}", highlight=False)
        return 2


def _numbers(text: str | None, option: str) -> tuple[float, ...]:
    if not text:
        return ()
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise SpecError(option, f"{text!r} is not a comma-separated list of numbers") from None


def _portfolio_bars(args: argparse.Namespace) -> list[Bars]:
    """Each ``--data`` file's bars (named by its symbol column or its file name), or the
    ``--symbols`` of one file."""
    if args.symbols:
        if len(args.data) > 1:
            raise SpecError("--symbols", "pick symbols from one --data file")
        frame = load(args.data[0])
        if args.resample:
            frame = resample(frame, args.resample)
        return [Bars.from_frame(frame, name.strip()) for name in args.symbols.split(",")]
    out = []
    for path in args.data:
        frame = load(path)
        if args.resample:
            frame = resample(frame, args.resample)
        name = args.symbol if "symbol" in frame.columns else Path(path).stem
        out.append(Bars.from_frame(frame, name))
    return out


def _run(args: argparse.Namespace, out: Console, err: Console) -> int:
    if len(args.data) > 1 or args.symbols:
        return _run_portfolio(args, out)
    started = time.perf_counter()
    frame = load(args.data[0])
    if args.resample:
        frame = resample(frame, args.resample)
    bars = Bars.from_frame(frame, args.symbol)
    gaps = find_gaps(
        frame.filter(pl.col("symbol") == bars.symbol) if "symbol" in frame.columns else frame
    )
    execution = ExecutionSettings(
        initial_cash=args.cash,
        commission_bps=args.commission_bps,
        commission_fixed=args.commission_fixed,
        slippage_bps=args.slippage_bps,
        fill=args.fill,
        leverage_cap=args.leverage,
        maintenance_margin_pct=args.maintenance_margin_pct,
    )
    execution = msgspec.convert(msgspec.to_builtins(execution), ExecutionSettings)
    builder = SpecBuilder(
        args.strategy,
        allow_short=args.allow_short,
        sizing=Sizing(
            method=args.sizing,
            fraction=1.0 if args.fraction is None else args.fraction,
            units=args.units,
            target_volatility_pct=args.target_vol_pct,
            whole_units=args.whole_units,
        ),
        risk=Risk(
            stop_loss_pct=args.stop_loss_pct,
            take_profit_pct=args.take_profit_pct,
            trailing_stop_pct=args.trailing_stop_pct,
        ),
        entry_order=EntryOrder(
            type=args.order,
            limit_offset_bps=args.limit_offset_bps,
            stop_offset_bps=args.stop_offset_bps,
            expiry_bars=args.expiry_bars,
        ),
    )
    fixed = _parse_params(args.param)
    sweep: SweepResult | None = None
    walk: WalkForwardResult | None = None
    deflated: float | None = None
    params = {**builder.defaults, **fixed}
    if args.sweep:
        ranges = dict(parse_range(text) for text in args.sweep)
        combos = [{**fixed, **c} for c in grid(ranges)]
        if args.random is not None:
            combos = [{**fixed, **c} for c in random_search(ranges, args.random, args.seed)]
        folds = args.walk_forward or 0
        with SweepProgress(err, len(combos) * (folds + 1), args.json) as advance:
            sweep = run_sweep(
                bars, builder, combos, execution, rank_by=args.rank_by, progress=advance
            )
            if folds:
                walk = walk_forward(
                    bars,
                    builder,
                    combos,
                    execution,
                    folds=folds,
                    rank_by=args.rank_by,
                    progress=advance,
                )
        best_row = sweep.ranking.row(0, named=True)
        params = {**params, **{name: float(best_row[name]) for name in ranges}}
        deflated = best_deflated_sharpe(bars, builder, sweep, execution)
    result = run_backtest(bars, builder.build(params), execution)
    elapsed_s = time.perf_counter() - started

    if args.report:
        write_report(args.report, result, params, sweep, walk)
    if args.json:
        document: dict[str, Any] = {
            "strategy": result.spec.name,
            "symbol": bars.symbol,
            "bars": bars.length,
            "parameters": params,
            **_metrics_document(result),
            "open_position": bool(result.position[-1] != 0.0),
            "gaps": len(gaps),
            "elapsed_s": round(elapsed_s, 3),
        }
        if sweep is not None:
            document["sweep"] = {
                "combinations": sweep.ranking.height,
                "rank_by": sweep.rank_by,
                "deflated_sharpe": None if deflated is None or math.isnan(deflated) else deflated,
                "top": _frame_rows(sweep.ranking.head(SWEEP_ROWS_IN_JSON)),
            }
        if walk is not None:
            document["walk_forward"] = {
                "out_of_sample_return_pct": walk.out_of_sample_return_pct,
                "folds": _frame_rows(walk.folds),
            }
        sys.stdout.write(msgspec.json.encode(document).decode() + "\n")
        return 0

    table = Table(title=f"{result.spec.name} on {bars.symbol} ({bars.length:,} bars)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in _metrics_document(result).items():
        table.add_row(
            name,
            "—" if value is None else f"{value:,.4f}" if isinstance(value, float) else str(value),
        )
    out.print(table)
    out.print("parameters: " + ", ".join(f"{k}={v:g}" for k, v in params.items()))
    if gaps:
        widest = max(gaps, key=lambda gap: gap.missing_bars)
        out.print(f"{len(gaps)} gaps in the data; widest {widest.start} → {widest.end}")
    if sweep is not None:
        out.print(
            f"sweep: {sweep.ranking.height} combinations ranked by {sweep.rank_by}; "
            f"deflated Sharpe ratio of the best: {deflated:.3f}"
        )
        out.print(sweep.ranking.head(5))
    if walk is not None:
        out.print(f"walk-forward out-of-sample return: {walk.out_of_sample_return_pct:.2f} %")
        out.print(walk.folds)
    if args.report:
        out.print(f"report written to {args.report}")
    out.print(f"elapsed {elapsed_s:.2f} s")
    return 0


def _run_portfolio(args: argparse.Namespace, out: Console) -> int:
    """A multi-asset run with shared cash: per-asset and portfolio metrics."""
    started = time.perf_counter()
    for option, given in (("--sweep", args.sweep), ("--walk-forward", args.walk_forward)):
        if given:
            raise SpecError(option, "multi-asset runs are not swept: give one --data file")
    bars = _portfolio_bars(args)
    execution = ExecutionSettings(
        initial_cash=args.cash,
        commission_bps=args.commission_bps,
        commission_fixed=args.commission_fixed,
        slippage_bps=args.slippage_bps,
        fill=args.fill,
    )
    execution = msgspec.convert(msgspec.to_builtins(execution), ExecutionSettings)
    sizing = PortfolioSizing(
        method=args.portfolio_sizing,
        fraction=args.fraction or 0.0,
        target_weights=_numbers(args.weights, "--weights"),
        units=_numbers(args.asset_units, "--asset-units"),
        rebalance_every=args.rebalance_every,
        whole_units=args.whole_units,
    )
    builder = SpecBuilder(args.strategy, allow_short=args.allow_short)
    params = {**builder.defaults, **_parse_params(args.param)}
    try:
        result = run_portfolio(bars, builder.build(params), execution, sizing)
    except SpecError as error:
        if error.path not in PORTFOLIO_OPTIONS:
            raise
        reason = str(error).split(" - at `")[0]
        raise SpecError(PORTFOLIO_OPTIONS[error.path], reason) from None
    elapsed_s = time.perf_counter() - started
    if args.report:
        write_portfolio_report(args.report, result, args.strategy, params)
    portfolio = {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v)
        for k, v in msgspec.to_builtins(result.metrics).items()
    }
    assets = [vars(asset) for asset in result.assets]
    if args.json:
        document = {
            "strategy": args.strategy,
            "symbols": list(result.symbols),
            "bars": int(result.equity.shape[0]),
            "dropped_bars": result.dropped_bars,
            "parameters": params,
            "portfolio": portfolio,
            "assets": assets,
            "elapsed_s": round(elapsed_s, 3),
        }
        sys.stdout.write(msgspec.json.encode(document).decode() + "\n")
        return 0
    table = Table(title=f"{args.strategy} on {', '.join(result.symbols)} (shared cash)")
    for column in ("symbol", "contribution", "contribution %", "round trips", "exposure %", "fees"):
        table.add_column(column, justify="left" if column == "symbol" else "right")
    for asset in result.assets:
        table.add_row(
            asset.symbol,
            f"{asset.contribution:,.2f}",
            f"{asset.contribution_pct:,.2f}",
            str(asset.round_trips),
            f"{asset.exposure_pct:,.1f}",
            f"{asset.fees:,.2f}",
        )
    out.print(table)
    metrics = Table(title=f"portfolio ({result.equity.shape[0]:,} common bars)")
    metrics.add_column("metric")
    metrics.add_column("value", justify="right")
    for name, value in portfolio.items():
        metrics.add_row(
            name,
            "—" if value is None else f"{value:,.4f}" if isinstance(value, float) else str(value),
        )
    out.print(metrics)
    if result.dropped_bars:
        out.print(f"{result.dropped_bars} bars dropped: not every symbol traded at them")
    if args.report:
        out.print(f"report written to {args.report}")
    out.print(f"elapsed {elapsed_s:.2f} s")
    return 0


class SweepProgress:
    """A rich progress bar on stderr over sweep combinations (silent for ``--json`` when
    stderr is not a terminal, so machine output stays clean)."""

    def __init__(self, console: Console, total: int, quiet: bool) -> None:
        self.enabled = not (quiet and not console.is_terminal)
        self.bar = Progress(
            TextColumn("sweep"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not self.enabled,
        )
        self.task = self.bar.add_task("sweep", total=total)

    def __enter__(self) -> Callable[[int], None]:
        self.bar.start()
        return self.advance

    def advance(self, count: int) -> None:
        self.bar.advance(self.task, count)

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()


if __name__ == "__main__":
    sys.exit(backtest_main())
