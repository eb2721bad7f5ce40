"""Operational alerts for staff: chargebacks, payout failures, suspicious sign-ins (a new
device from a new network), bursts of failed sign-ins from one network across accounts,
and points issuance above its own hourly baseline; each raised once, told to every
reviewer and admin, listed for them to acknowledge."""
