"""Sessions on a mentor's calendar: seeing, joining, completing, rating, reminding, and
cohort live sessions."""
