"""TradingView alerts in, cut like a domain: each mentor's secret webhook (`service`:
issued, rotated and revoked by the mentor, stored hashed), and every alert it receives
turned into a signal broadcast through the signals service — validated, de-duplicated,
rate-limited, its alert-to-broadcast latency recorded with the signal. Records in
`models`, SQL in `store`, HTTP routes in `api`."""
