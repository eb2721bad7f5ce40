"""Withdrawals and weekly payouts to M-Pesa or a bank account: reserving the money,
sending it through M-Pesa B2C and finding out what became of each send, and what admins
decide."""
