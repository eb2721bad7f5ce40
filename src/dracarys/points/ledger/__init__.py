"""The points ledger and balances: the one way points move (`store.post_entry`, the
database function that locks the balance row and applies caps and freezes), balances
with tier progress, history, and what follows a credit (tier moves, `points.awarded`)."""
