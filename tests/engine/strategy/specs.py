"""A mentor's spec written as JSON would be: the SMA crossover the templates also build."""

from typing import Any

SMA_SPEC: dict[str, Any] = {
    "name": "mentor_sma",
    "indicators": [
        {"kind": "sma", "name": "fast", "window": 5},
        {"kind": "sma", "name": "slow", "window": 20},
    ],
    "rules": {
        "long_entry": [{"left": "fast", "op": "crosses_above", "right": "slow"}],
        "long_exit": [{"left": "fast", "op": "crosses_below", "right": "slow"}],
    },
}
