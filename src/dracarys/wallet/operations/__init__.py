"""Operation-level idempotency for the wallet's money-moving calls."""
