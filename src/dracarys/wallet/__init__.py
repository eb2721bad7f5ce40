"""Wallet, payments, escrow and payouts: a TigerBeetle-shaped double-entry ledger in
PostgreSQL and the money workflows (deposits, withdrawals, charges, escrow, payouts,
invoices) built on it."""
