"""Redemption's rules, pure (no database), read from settings where they are
configuration: what a point is worth, and which targets are worth money outside the
platform, so need a verified identity and wait out a hold before they land (blueprint §5,
redemption controls: no conversion to cash-like value without KYC and a 30-day hold;
discounts may be immediate)."""

from __future__ import annotations

from dracarys.identity import KYC_LEVEL_TO_CONVERT_POINTS
from dracarys.points.redemption.models import (
    CASH_EQUIVALENT,
    ConversionPolicy,
    ConversionTargetRule,
    Target,
)
from dracarys.settings import Settings

# A cash-like target (wallet or mentor credit) needs the identity checked this far.
CASH_KYC_LEVEL = KYC_LEVEL_TO_CONVERT_POINTS
# Targets that name what they buy (`target_ref`: the course, the merch item).
NEEDS_TARGET_REF = frozenset({Target.COURSE_UNLOCK, Target.MERCH})


def value_minor(settings: Settings, points: int) -> int:
    """What `points` are worth, in minor units of `settings.points_currency`."""
    return points * settings.points_minor_units_per_point


def target_rule(settings: Settings, target: Target) -> ConversionTargetRule:
    cash_like = target in CASH_EQUIVALENT
    return ConversionTargetRule(
        target=target,
        cash_equivalent=cash_like,
        needs_kyc_level=CASH_KYC_LEVEL if cash_like else 0,
        hold_days=settings.points_redemption_hold_days if cash_like else 0,
        needs_target_ref=target in NEEDS_TARGET_REF,
    )


def conversion_policy(settings: Settings) -> ConversionPolicy:
    return ConversionPolicy(
        currency=settings.points_currency,
        minor_units_per_point=settings.points_minor_units_per_point,
        cash_kyc_level=CASH_KYC_LEVEL,
        hold_days=settings.points_redemption_hold_days,
        targets=[target_rule(settings, target) for target in Target],
    )
