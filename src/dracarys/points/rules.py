"""Pure rule arithmetic: which version is in force, how many points an award is worth
(percent rules, mentor multiplier, limited-time events), which caps it counts against,
tier thresholds, learning streaks and leaderboard periods. No I/O here."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from dracarys.money import UnknownCurrency, minor_per_major
from dracarys.points.models import Cap, PointsEvent, Rule, Tier
from dracarys.settings import Settings

SOCIAL_EMAIL = frozenset({"social", "email"})
LeaderboardPeriod = Literal["weekly", "monthly", "season"]


@dataclass(slots=True)
class RuleBook:
    """The rules in force (newest version per code) and the limited-time events."""

    rules: dict[str, Rule]
    events: list[PointsEvent]
    loaded_at: float = field(default_factory=time.monotonic)

    def rule(self, code: str) -> Rule | None:
        return self.rules.get(code)

    def multiplier_pct(self, code: str, at: datetime) -> int:
        best = 100
        for event in self.events:
            if code in event.rule_codes and event.starts_at <= at < event.ends_at:
                best = max(best, event.multiplier_pct)
        return best


def base_points(rule: Rule, amount_minor: int | None, currency: str | None) -> int:
    """Points a rule is worth before multipliers. Percent rules take `percent_bps` of the
    amount in major units (the currency's ISO 4217 exponent says how many minor units make
    one) and convert it at the rule's per-currency rate. An amount in something that is no
    ISO 4217 currency is worth nothing."""
    if rule.kind == "fixed":
        return rule.points
    if amount_minor is None or currency is None:
        return 0
    try:
        minor_units = minor_per_major(currency)
    except UnknownCurrency:
        return 0
    bps = int(rule.params.get("percent_bps", 0))
    rates = rule.params.get("points_per_major_unit", {})
    rate = int(rates.get(currency, rule.params.get("default_points_per_major_unit", 1)))
    # Integer arithmetic, rounded down: amount_minor * bps/10_000 * rate / minor_units.
    return int(amount_minor * bps * rate // (10_000 * minor_units))


def award_points(
    rulebook: RuleBook,
    rule: Rule,
    *,
    at: datetime,
    amount_minor: int | None = None,
    currency: str | None = None,
    multiplier: int = 1,
) -> int:
    points = base_points(rule, amount_minor, currency) * multiplier
    return points * rulebook.multiplier_pct(rule.code, at) // 100


def idempotency_key(rule_code: str, user_id: uuid.UUID, related_entity: str | None) -> str:
    """One award per (rule, user, related entity), across rule versions."""
    return f"rule:{rule_code}:{user_id}:{related_entity or '-'}"


def day_key(at: datetime) -> str:
    return at.date().isoformat()


def caps_for(rule: Rule, settings: Settings, at: datetime) -> list[Cap]:
    """Cap counters an award of `rule` at `at` counts against (UTC days and months)."""
    day = day_key(at)
    caps: list[Cap] = []
    if rule.daily_limit is not None:
        caps.append(Cap(key=f"d:{day}:r:{rule.code}", limit=rule.daily_limit))
    if rule.monthly_limit is not None:
        caps.append(Cap(key=f"m:{at:%Y-%m}:r:{rule.code}", limit=rule.monthly_limit))
    if rule.category in SOCIAL_EMAIL:
        caps.append(Cap(key=f"d:{day}:social_email", limit=settings.points_social_email_daily_cap))
    return caps


def tier_thresholds(settings: Settings) -> list[tuple[Tier, int]]:
    return [
        (Tier.BRONZE, 0),
        (Tier.SILVER, settings.points_tier_silver),
        (Tier.GOLD, settings.points_tier_gold),
        (Tier.LEGEND, settings.points_tier_legend),
    ]


def tier_for(earned: int, settings: Settings) -> Tier:
    current = Tier.BRONZE
    for tier, threshold in tier_thresholds(settings):
        if earned >= threshold:
            current = tier
    return current


def next_tier(earned: int, settings: Settings) -> tuple[Tier | None, int | None, int]:
    """(next tier, points still needed, progress % from the current threshold)."""
    thresholds = tier_thresholds(settings)
    for index, (tier, threshold) in enumerate(thresholds):
        if earned < threshold:
            floor = thresholds[index - 1][1]
            progress = (earned - floor) * 100 // max(1, threshold - floor)
            return tier, threshold - earned, progress
    return None, None, 100


def tier_window_start(settings: Settings, at: datetime) -> datetime:
    return at - timedelta(days=settings.points_tier_window_days)


def advance_streak(
    current: int, longest: int, last_day: date | None, today: date
) -> tuple[int, int, date]:
    """(current, longest, last day) after learning on the local day `today`: the same
    local day twice is one day; the next local day extends the streak; a gap restarts it;
    a late event for an earlier day changes nothing."""
    if last_day is None:
        return 1, max(longest, 1), today
    if today == last_day + timedelta(days=1):
        current, last_day = current + 1, today
    elif today > last_day + timedelta(days=1):
        current, last_day = 1, today
    return current, max(longest, current), last_day


def leaderboard_periods(at: datetime) -> dict[str, str]:
    """Period keys an entry at `at` counts towards: ISO week, month, season (quarter)."""
    year, week, _ = at.isocalendar()
    season = (at.month - 1) // 3 + 1
    return {
        "weekly": f"w:{year}-W{week:02d}",
        "monthly": f"m:{at:%Y-%m}",
        "season": f"s:{at.year}-Q{season}",
    }


def months_before(at: datetime, months: int) -> datetime:
    """The same wall-clock moment `months` calendar months earlier (clamped to the end of
    a shorter month)."""
    month_index = at.year * 12 + (at.month - 1) - months
    year, month = divmod(month_index, 12)
    month += 1
    day = min(at.day, _days_in_month(year, month))
    return at.replace(year=year, month=month, day=day)


def _days_in_month(year: int, month: int) -> int:
    first_next = date(year + (month == 12), month % 12 + 1, 1)
    return (first_next - timedelta(days=1)).day
