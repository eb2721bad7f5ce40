"""Paper trading, mentor signals and copy-trading: portfolios, orders and the matching
engine loop that persists and publishes their fills, risk and disclaimers, hash-chained
signals with a verified track record, subscriptions with mirroring, leaderboards."""
