"""The paper-trading loop: one per market feed, it matches every open paper order on each
tick with `engine.matching` and persists the tick's fills, positions, cash and equity marks
in one transaction (named apart from the top-level `engine` package it drives)."""
