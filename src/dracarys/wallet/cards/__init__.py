"""Card events after a deposit: Stripe's webhooks, chargebacks (a cardholder disputing a
deposit with their bank) and refunds back to the card."""
