"""E-mail and SMS of notifications: sent at once, held through quiet hours, or gathered
into the daily digest."""
