"""Anti-abuse: e-mail click tokens (scanners ignored; only a click that led to the owner's
signed-in session earns), logins and the IPs and devices they came from, clusters of
accounts sharing them, earning freezes, denials and the appeals against them."""
