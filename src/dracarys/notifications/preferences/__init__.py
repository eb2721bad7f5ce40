"""Which channels each person wants per category, and their quiet hours."""
