"""Deposits: topping a wallet up through Stripe Checkout or an M-Pesa STK push, settled by
the provider's confirmation (webhook, callback or status query)."""
