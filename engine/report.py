"""A self-contained HTML report of one backtest (and its sweep, when there was one):
equity with trade markers, drawdown, metrics, trades and a sweep heatmap, drawn as inline
SVG so the file opens anywhere with no network access. A multi-asset run's report has the
per-asset table, the portfolio's equity and drawdown, its metrics and the round trips."""

import html
import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from engine.metrics import drawdown_series
from engine.portfolio import PortfolioResult
from engine.runner import BacktestResult
from engine.sweep import SweepResult, WalkForwardResult

FloatArray = npt.NDArray[np.float64]
WIDTH, HEIGHT, MARGIN = 960, 260, 48
MAX_POINTS = 2_000
MAX_TRADE_ROWS = 500

STYLE = """
body { font: 14px system-ui, sans-serif; margin: 2rem auto; max-width: 1000px; color: #222; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
td, th { padding: 2px 10px; border-bottom: 1px solid #eee; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.note { color: #666; }
svg text { font: 11px system-ui, sans-serif; fill: #555; }
"""


def _sample_indices(n: int) -> npt.NDArray[np.int64]:
    """At most ``MAX_POINTS`` bar indices for drawing, always keeping the last bar."""
    if n <= MAX_POINTS:
        return np.arange(n)
    return np.unique(np.concatenate((np.linspace(0, n - 1, MAX_POINTS).astype(np.int64), [n - 1])))


def _scale(values: FloatArray, low: float, high: float, top: float, bottom: float) -> FloatArray:
    span = high - low or 1.0
    return np.asarray(bottom - (values - low) / span * (bottom - top), dtype=np.float64)


def _line_chart(
    values: FloatArray,
    title: str,
    colour: str,
    markers: list[tuple[int, float, str]] | None = None,
    fill: bool = False,
) -> str:
    n = values.shape[0]
    idx = _sample_indices(n)
    low, high = float(np.nanmin(values)), float(np.nanmax(values))
    xs = MARGIN + idx / max(n - 1, 1) * (WIDTH - 2 * MARGIN)
    ys = _scale(values[idx], low, high, 16.0, HEIGHT - 24.0)
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-label="{html.escape(title)}">'
    ]
    if fill:
        base = (
            HEIGHT - 24.0
            if low >= 0
            else float(_scale(np.array([0.0]), low, high, 16.0, HEIGHT - 24.0)[0])
        )
        parts.append(
            f'<polygon fill="{colour}" fill-opacity="0.25" '
            f'points="{xs[0]:.1f},{base:.1f} {points} {xs[-1]:.1f},{base:.1f}"/>'
        )
    parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.2" points="{points}"/>')
    for bar, value, kind in markers or []:
        x = MARGIN + bar / max(n - 1, 1) * (WIDTH - 2 * MARGIN)
        y = float(_scale(np.array([value]), low, high, 16.0, HEIGHT - 24.0)[0])
        shape = f"{x - 4:.1f},{y + 6:.1f} {x + 4:.1f},{y + 6:.1f} {x:.1f},{y:.1f}"
        if kind == "exit":
            shape = f"{x - 4:.1f},{y - 6:.1f} {x + 4:.1f},{y - 6:.1f} {x:.1f},{y:.1f}"
        marker_colour = "#1a7f37" if kind == "entry" else "#cf222e"
        parts.append(
            f'<polygon points="{shape}" fill="{marker_colour}">'
            f"<title>{kind} bar {bar}</title></polygon>"
        )
    parts.append(f'<text x="{MARGIN}" y="12">{html.escape(title)}</text>')
    parts.append(
        f'<text x="4" y="20">{high:,.4g}</text><text x="4" y="{HEIGHT - 24}">{low:,.4g}</text>'
    )
    parts.append(f'<text x="{MARGIN}" y="{HEIGHT - 6}">bar 0</text>')
    parts.append(f'<text x="{WIDTH - MARGIN - 60}" y="{HEIGHT - 6}">bar {n - 1}</text></svg>')
    return "".join(parts)


def _colour(t: float) -> str:
    """Red (worst) through white to green (best) for ``t`` in [0, 1]; grey for NaN."""
    if math.isnan(t):
        return "#ddd"
    if t < 0.5:
        k = t / 0.5
        return f"rgb({int(207 + k * 48)},{int(34 + k * 221)},{int(46 + k * 209)})"
    k = (t - 0.5) / 0.5
    return f"rgb({int(255 - k * 229)},{int(255 - k * 128)},{int(255 - k * 200)})"


def _heatmap(sweep: SweepResult, parameters: list[str]) -> str:
    """Metric over the first two swept parameters (best over any others); a strip for one."""
    metric = sweep.rank_by
    if len(parameters) == 1:
        parameters = [parameters[0], parameters[0]]
        table = sweep.ranking.select(pl.col(parameters[0]), pl.col(metric)).with_columns(
            pl.lit(0).alias("__row")
        )
        x_name, y_name = parameters[0], "__row"
    else:
        x_name, y_name = parameters[0], parameters[1]
        table = sweep.ranking.group_by(x_name, y_name).agg(pl.col(metric).max())
    xs = sorted(table[x_name].unique().to_list())
    ys = sorted(table[y_name].unique().to_list())
    values = {(row[x_name], row[y_name]): row[metric] for row in table.iter_rows(named=True)}
    finite = [v for v in values.values() if v is not None and math.isfinite(v)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    cell_w = max(8.0, (WIDTH - 2 * MARGIN) / len(xs))
    cell_h = max(8.0, min(28.0, 400 / len(ys)))
    height = len(ys) * cell_h + 40
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {height:.0f}" width="100%" role="img" '
        'aria-label="sweep heatmap">'
    ]
    for j, y in enumerate(ys):
        for i, x in enumerate(xs):
            value = values.get((x, y))
            shade = (
                math.nan
                if value is None or not math.isfinite(value)
                else (value - low) / ((high - low) or 1.0)
            )
            label = (
                f"{x_name}={x}"
                + ("" if y_name == "__row" else f", {y_name}={y}")
                + f": {metric}={value}"
            )
            parts.append(
                f'<rect x="{MARGIN + i * cell_w:.1f}" y="{20 + j * cell_h:.1f}" '
                f'width="{cell_w:.1f}" height="{cell_h:.1f}" fill="{_colour(shade)}">'
                f"<title>{html.escape(label)}</title></rect>"
            )
        if y_name != "__row":
            parts.append(f'<text x="4" y="{20 + (j + 0.7) * cell_h:.1f}">{y}</text>')
    for i, x in enumerate(xs):
        if len(xs) <= 30 or i % max(1, len(xs) // 15) == 0:
            parts.append(f'<text x="{MARGIN + i * cell_w:.1f}" y="{height - 6:.0f}">{x}</text>')
    axis = x_name if y_name == "__row" else f"{x_name} (across) × {y_name} (down)"
    parts.append(
        f'<text x="{MARGIN}" y="12">'
        f"{html.escape(f'{metric} by {axis}; {low:.3g} … {high:.3g}')}</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def _table(frame: pl.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    rows = []
    for row in frame.iter_rows():
        cells = "".join(f"<td>{html.escape(_format(v))}</td>" for v in row)
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _format(value: object) -> str:
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:,.4f}"
    return str(value)


def _document(title: str, sections: list[str]) -> str:
    body = "\n".join(sections)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    )


def render_portfolio(result: PortfolioResult, strategy: str, parameters: dict[str, float]) -> str:
    """The report of a multi-asset run with shared cash."""
    metrics = result.metrics
    metric_rows = pl.DataFrame(
        {
            "metric": list(metrics.__struct_fields__),
            "value": [_format(getattr(metrics, f)) for f in metrics.__struct_fields__],
        }
    )
    assets = result.asset_frame().select(
        "symbol",
        "contribution",
        "contribution_pct",
        "round_trips",
        "exposure_pct",
        "fees",
        "cash_limited_orders",
        "final_units",
    )
    trades = result.trades()
    shown = trades.head(MAX_TRADE_ROWS)
    shown_note = f", first {MAX_TRADE_ROWS}" if trades.height > MAX_TRADE_ROWS else ""
    title = f"{strategy} on {', '.join(result.symbols)} (shared cash)"
    execution = result.execution
    sizing = result.sizing
    params = ", ".join(f"{k}={v:g}" for k, v in parameters.items())
    drawdown = drawdown_series(result.equity, execution.initial_cash)
    rebalance = (
        f"rebalanced every {sizing.rebalance_every} bars"
        if sizing.rebalance_every
        else "never rebalanced"
    )
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="note">{result.equity.shape[0]:,} bars common to every symbol '
        f"({result.dropped_bars:,} dropped); parameters: {html.escape(params or 'defaults')}; "
        f"sizing: {sizing.method}, {rebalance}; fill: {execution.fill}; commission "
        f"{execution.commission_bps:g} bps + {execution.commission_fixed:g} per order; "
        f"slippage {execution.slippage_bps:g} bps. Sales fill before purchases each bar; a "
        "purchase the cash cannot pay is cut down.</p>",
        "<h2>Per asset</h2>",
        _table(assets),
        "<h2>Portfolio equity</h2>",
        _line_chart(result.equity, "portfolio equity", "#0969da"),
        "<h2>Drawdown</h2>",
        _line_chart(-100.0 * drawdown, "drawdown %", "#cf222e", fill=True),
        "<h2>Portfolio metrics</h2>",
        _table(metric_rows),
        f"<h2>Round trips ({trades.height:,}{shown_note})</h2>",
        _table(shown),
    ]
    return _document(title, sections)


def write_portfolio_report(
    path: str | Path, result: PortfolioResult, strategy: str, parameters: dict[str, float]
) -> None:
    Path(path).write_text(render_portfolio(result, strategy, parameters), encoding="utf-8")


def render(
    result: BacktestResult,
    parameters: dict[str, float],
    sweep: SweepResult | None = None,
    walk: WalkForwardResult | None = None,
) -> str:
    trades = result.trades()
    markers: list[tuple[int, float, str]] = []
    for row in trades.head(MAX_TRADE_ROWS).iter_rows(named=True):
        markers.append((row["entry_bar"], float(result.equity[row["entry_bar"]]), "entry"))
        if row["exit_reason"] != "open":
            markers.append((row["exit_bar"], float(result.equity[row["exit_bar"]]), "exit"))
    metrics = result.metrics
    metric_rows = pl.DataFrame(
        {
            "metric": list(metrics.__struct_fields__),
            "value": [_format(getattr(metrics, f)) for f in metrics.__struct_fields__],
        }
    )
    title = f"{result.spec.name} on {result.bars.symbol}"
    execution = result.execution
    params = ", ".join(f"{k}={v:g}" for k, v in parameters.items())
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="note">{result.bars.length:,} bars; '
        f"parameters: {html.escape(params or 'defaults')}; fill: {execution.fill}; "
        f"commission {execution.commission_bps:g} bps + {execution.commission_fixed:g} per "
        f"order; slippage {execution.slippage_bps:g} bps. "
        "Final equity marks any open position to market at the last close.</p>",
        "<h2>Equity</h2>",
        _line_chart(result.equity, "equity (▲ entry, ▼ exit)", "#0969da", markers),
        "<h2>Drawdown</h2>",
        _line_chart(-100.0 * result.drawdown, "drawdown %", "#cf222e", fill=True),
        "<h2>Metrics</h2>",
        _table(metric_rows),
    ]
    if sweep is not None:
        swept = [c for c in sweep.ranking.columns if c in parameters]
        sections += [
            f"<h2>Sweep: {sweep.ranking.height:,} combinations "
            f"ranked by {html.escape(sweep.rank_by)}</h2>",
            _heatmap(sweep, swept) if swept else "",
            _table(sweep.ranking.head(20)),
        ]
    if walk is not None:
        sections += [
            f"<h2>Walk-forward (out-of-sample return {walk.out_of_sample_return_pct:.2f} %)</h2>",
            _table(walk.folds),
        ]
    shown = trades.head(MAX_TRADE_ROWS)
    shown_note = f", first {MAX_TRADE_ROWS}" if trades.height > MAX_TRADE_ROWS else ""
    sections += [
        f"<h2>Trades ({trades.height:,}{shown_note})</h2>",
        _table(shown),
    ]
    return _document(title, sections)


def write_report(
    path: str | Path,
    result: BacktestResult,
    parameters: dict[str, float],
    sweep: SweepResult | None = None,
    walk: WalkForwardResult | None = None,
) -> None:
    Path(path).write_text(render(result, parameters, sweep, walk), encoding="utf-8")
