"""Payment details at rest: M-Pesa numbers, payout destinations and provider callbacks,
sealed under the payment-details key."""
