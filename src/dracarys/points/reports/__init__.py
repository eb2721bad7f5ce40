"""The daily reconciliation and economy report: the ledger against the balances, the
anomalies, and what was issued, redeemed and expired."""
