"""Strategies as data: a spec (``spec``), its compilation into the backtest kernel's
inputs (``compilation``) and the bundled templates with the builder that turns parameter
values into specs (``templates``). This is the package's public surface: code outside it
imports from ``engine.strategy``, never from its modules.

    >>> from engine.strategy import SpecBuilder
    >>> SpecBuilder("sma_cross").build({"fast": 5, "slow": 20}).indicators[0].name
    'fast'
"""

from engine.strategy.compilation import (
    CompiledRules,
    SeriesTable,
    compile_rules,
    indicator_key,
    kernel_settings,
    required_indicators,
)
from engine.strategy.spec import (
    BASE_SERIES,
    Atr,
    Bollinger,
    Condition,
    Donchian,
    Ema,
    EntryOrder,
    ExecutionSettings,
    Indicator,
    Macd,
    Risk,
    Rsi,
    Rules,
    Sizing,
    Sma,
    SpecError,
    Stochastic,
    StrategySpec,
    Volatility,
    Vwap,
    Wma,
    ZScore,
    check_spec,
    load_spec,
    output_names,
)
from engine.strategy.templates import TEMPLATES, SpecBuilder, Template

__all__ = [
    "BASE_SERIES",
    "TEMPLATES",
    "Atr",
    "Bollinger",
    "CompiledRules",
    "Condition",
    "Donchian",
    "Ema",
    "EntryOrder",
    "ExecutionSettings",
    "Indicator",
    "Macd",
    "Risk",
    "Rsi",
    "Rules",
    "SeriesTable",
    "Sizing",
    "Sma",
    "SpecBuilder",
    "SpecError",
    "Stochastic",
    "StrategySpec",
    "Template",
    "Volatility",
    "Vwap",
    "Wma",
    "ZScore",
    "check_spec",
    "compile_rules",
    "indicator_key",
    "kernel_settings",
    "load_spec",
    "output_names",
    "required_indicators",
]
