"""Points, gamification and rewards: the append-only points ledger, versioned earning
rules, event-driven awards, pending money-tied awards, tiers, badges, streaks,
leaderboards, redemption, expiry, anti-abuse and reports."""
