"""Strategy templates and the spec builder: every template trades, a template equals the
same spec written by hand, spec-file parameters are dotted paths."""

import itertools

import msgspec
import numpy as np
import pytest

from engine.data import Bars
from engine.runner import run_backtest
from engine.strategy import TEMPLATES, ExecutionSettings, SpecBuilder, SpecError, load_spec
from engine.synthetic import generate_daily
from tests.engine.strategy.specs import SMA_SPEC


@pytest.fixture(scope="module")
def bars() -> Bars:
    return Bars.from_frame(generate_daily(600, seed=3))


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_template_builds_a_valid_spec_that_trades(name: str, bars: Bars) -> None:
    template = TEMPLATES[name]
    for allow_short in (False, True):
        spec = template.build(template.defaults, allow_short)
        assert load_spec(msgspec.json.encode(spec)) == spec
        result = run_backtest(bars, spec, ExecutionSettings())
        assert result.trades().height > 0
        directions = set(result.trades()["direction"])
        assert ("short" in directions) == allow_short


def test_sma_cross_template_equals_the_same_spec_written_as_json(bars: Bars) -> None:
    template = SpecBuilder("sma_cross").build({"fast": 5, "slow": 20})
    written = load_spec(SMA_SPEC)
    a = run_backtest(bars, template, ExecutionSettings())
    b = run_backtest(bars, written, ExecutionSettings())
    np.testing.assert_array_equal(a.equity, b.equity)


def test_spec_file_parameters_are_dotted_paths(tmp_path, bars: Bars) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "spec.json"
    path.write_bytes(msgspec.json.encode(SMA_SPEC))
    builder = SpecBuilder(str(path))
    spec = builder.build({"fast.window": 8, "slow.window": 30})
    assert [i.window for i in spec.indicators] == [8, 30]  # type: ignore[union-attr]
    with pytest.raises(SpecError, match="no indicator or section"):
        builder.build({"medium.window": 3})


def test_unknown_template_parameter_is_rejected() -> None:
    with pytest.raises(SpecError, match="not a parameter of sma_cross"):
        SpecBuilder("sma_cross").build({"fastest": 3})


def test_allow_short_crossover_reverses_on_the_opposite_cross(bars: Bars) -> None:
    spec = SpecBuilder("sma_cross", allow_short=True).build({"fast": 5, "slow": 20})
    trades = run_backtest(bars, spec, ExecutionSettings()).trades()
    closed = trades.filter(trades["exit_reason"] != "open")
    # Every exit but the last is the next trade's entry, in the other direction.
    assert (
        closed["exit_bar"].to_numpy() == trades["entry_bar"].to_numpy()[1 : closed.height + 1]
    ).all()
    directions = trades["direction"].to_list()
    assert all(a != b for a, b in itertools.pairwise(directions))
