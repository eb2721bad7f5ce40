"""A wallet's balances in each currency and its history, read from the ledger."""
