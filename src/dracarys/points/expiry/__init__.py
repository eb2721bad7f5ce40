"""Expiry and tiers over time: points earned more than N months ago expire (oldest first)
for users who have not signed in lately, and tiers follow a rolling window, so they fall
as old earnings leave it."""
