"""Mentor signals, cut like a domain: hash-chained signals traded on each mentor's signal
book into a verified track record (`service`), feed plans and paid subscriptions
(`subscriptions`), their SQL (`store`), records (`models`), events and HTTP routes."""
