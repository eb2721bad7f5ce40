"""Adapters to the payment providers we cannot reach from tests: Stripe (cards, through
the official SDK) and Safaricom M-Pesa Daraja (httpx). Each speaks the provider's own wire
format; the wallet's services decide what a result means for money."""
