"""What makes each detector fire, stated once: the network a sign-in comes from, the
failed sign-in burst's thresholds, and the points baseline's."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

# A burst: this many failed sign-ins from one network, across at least this many
# accounts, within the window. Under identity's per-address ceiling (20 in 15 minutes),
# so a burst spread over one /24 is seen before the throttle refuses the addresses.
BURST_FAILURES = 10
BURST_ACCOUNTS = 5
BURST_WINDOW = timedelta(minutes=15)

# Points issuance: the last hour against the same hour on each of the 14 days before; an
# alert above mean + 3 standard deviations, and never for fewer than 500 points (a quiet
# platform's hour of zeros would otherwise alert on any award at all).
BASELINE_DAYS = 14
BASELINE_STDDEVS = 3.0
MIN_SPIKE_POINTS = 500


def network_of(source_ip: str | None) -> str | None:
    """The network an address belongs to for "a new network": its /24 (IPv4) or /48
    (IPv6, a site's usual allocation); an IPv4-mapped IPv6 address is its IPv4 one. None
    when the address is missing or not an address."""
    if not source_ip:
        return None
    try:
        address = ipaddress.ip_address(source_ip)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def baseline_threshold(mean: float, stddev: float) -> float:
    """The points an hour may issue before it is unusual."""
    return max(mean + BASELINE_STDDEVS * stddev, float(MIN_SPIKE_POINTS))
