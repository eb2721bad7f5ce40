"""Withdrawal holds: while a user has an active hold (placed by another domain, such as an
AML case), the wallet opens no payout for them."""
