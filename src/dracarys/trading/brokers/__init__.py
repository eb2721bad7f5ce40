"""External brokers: the `Broker` interface (place, cancel, positions, fill stream) with
a paper implementation and Alpaca's, a member's linked brokerage account, and mirrored
signals routed there and filled back into the mirror portfolio (see `service`)."""
