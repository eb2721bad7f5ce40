"""The double-entry ledger every wallet workflow moves money through (TigerBeetle's
shape in PostgreSQL): accounts, transfers, pending transfers and invariant checks."""
