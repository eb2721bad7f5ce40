"""Strategy specs: validation at the edge, immutability, the failing field's path."""

import msgspec
import pytest

from engine.strategy import SpecError, StrategySpec, load_spec
from tests.engine.strategy.specs import SMA_SPEC


def test_spec_round_trips_through_json_and_is_frozen() -> None:
    spec = load_spec(SMA_SPEC)
    assert load_spec(msgspec.json.encode(spec)) == spec
    with pytest.raises(AttributeError):
        spec.name = "changed"  # type: ignore[misc]


def test_unknown_field_is_rejected_naming_its_path() -> None:
    bad = {
        **SMA_SPEC,
        "indicators": [{"kind": "sma", "name": "fast", "window": 5, "colour": "red"}],
    }
    with pytest.raises(msgspec.ValidationError, match=r"colour.*\$\.indicators\[0\]"):
        load_spec(bad)


def test_out_of_range_window_is_rejected_naming_its_path() -> None:
    bad = {**SMA_SPEC, "indicators": [{"kind": "sma", "name": "fast", "window": 0}]}
    with pytest.raises(msgspec.ValidationError, match=r">= 1 - at `\$\.indicators\[0\]\.window`"):
        load_spec(bad)


def test_condition_on_an_unknown_series_is_rejected_naming_its_path() -> None:
    rules = {"long_entry": [{"left": "fast", "op": "above", "right": "medium"}]}
    with pytest.raises(SpecError, match=r"medium.*\$\.rules\.long_entry\[0\]\.right"):
        load_spec({**SMA_SPEC, "rules": rules})


def test_fixed_fraction_sizing_without_a_stop_loss_is_rejected() -> None:
    with pytest.raises(SpecError, match="stop-loss"):
        load_spec({**SMA_SPEC, "sizing": {"method": "fixed_fraction", "fraction": 0.01}})


def test_spec_type_is_a_frozen_msgspec_struct_forbidding_unknown_fields() -> None:
    config = StrategySpec.__struct_config__
    assert config.frozen
    assert config.forbid_unknown_fields
