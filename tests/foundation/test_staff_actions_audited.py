"""Every action only staff may take that changes something (money, points, roles, content)
is written to the hash-chained audit log with the staff member who took it.

The table below is the list of those routes, each with the audit action it records and
the test that proves the entry is written with its actor. A new staff-only route that
changes state fails `test_every_staff_action_is_listed_with_its_audit_entry` until it
records an audit entry and is added here with its proof."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from litestar.handlers import HTTPRouteHandler

from dracarys.app import create_app
from dracarys.identity import Role, RoleGuard
from tests.support import AppClient, audit_trail

SRC = Path(__file__).resolve().parents[2] / "src" / "dracarys"
STAFF_ROLES = frozenset({Role.ADMIN, Role.REVIEWER})

# (method, path) -> (audit action, the test that checks the entry and its actor)
STAFF_ACTIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("POST", "/api/v1/kyc/documents/{document_id:uuid}/approve"): (
        "kyc.approved",
        "tests/identity/test_kyc.py",
    ),
    ("POST", "/api/v1/kyc/documents/{document_id:uuid}/reject"): (
        "kyc.rejected",
        "tests/identity/test_kyc.py",
    ),
    ("POST", "/api/v1/admin/users/{user_id:uuid}/ban"): (
        "admin.ban",
        "tests/identity/test_access_and_profiles.py",
    ),
    ("POST", "/api/v1/admin/users/{user_id:uuid}/unban"): (
        "admin.unban",
        "tests/identity/test_access_and_profiles.py",
    ),
    ("PUT", "/api/v1/admin/users/{user_id:uuid}/role"): (
        "admin.role_changed",
        "tests/identity/test_access_and_profiles.py",
    ),
    ("PUT", "/api/v1/admin/users/{user_id:uuid}/kyc-level"): (
        "admin.kyc_override",
        "tests/identity/test_kyc.py",
    ),
    ("DELETE", "/api/v1/admin/users/{user_id:uuid}/sessions/{session_id:uuid}"): (
        "admin.session_revoked",
        "tests/identity/test_staff_sessions.py",
    ),
    ("PATCH", "/api/v1/admin/mentors/{user_id:uuid}"): (
        "admin.mentor_status",
        "tests/identity/test_reputation.py",
    ),
    ("PUT", "/api/v1/admin/mentors/{user_id:uuid}/contract"): (
        "mentor.contract_set",
        "tests/mentorship/test_compensation.py",
    ),
    ("PUT", "/api/v1/community/moderation/blocked-domains/{domain:str}"): (
        "community.domain_blocked",
        "tests/community/test_moderation.py",
    ),
    ("DELETE", "/api/v1/community/moderation/blocked-domains/{domain:str}"): (
        "community.domain_unblocked",
        "tests/community/test_moderation.py",
    ),
    ("POST", "/api/v1/points/award"): (
        "points.awarded",
        "tests/foundation/test_staff_actions_audited.py",
    ),
    ("POST", "/api/v1/points/events"): ("points.event_created", "tests/points/test_api.py"),
    ("POST", "/api/v1/points/rules/{code:str}/versions"): (
        "points.rule_changed",
        "tests/points/test_api.py",
    ),
    ("POST", "/api/v1/points/appeals/{appeal_id:uuid}/decision"): (
        "points.appeal_decided",
        "tests/points/abuse/test_service.py",
    ),
    ("POST", "/api/v1/points/accounts/{user_id:uuid}/unfreeze"): (
        "points.earning_unfrozen",
        "tests/points/abuse/test_service.py",
    ),
    ("PUT", "/api/v1/admin/points/merch/items/{code:str}"): (
        "points.merch_item_saved",
        "tests/points/merch/test_service.py",
    ),
    ("POST", "/api/v1/admin/points/merch/orders/{redemption_id:uuid}/status"): (
        "points.merch_order_moved",
        "tests/points/merch/test_service.py",
    ),
    ("POST", "/api/v1/admin/payouts/{payout_id:uuid}/review"): (
        "payout.review_resolved",
        "tests/wallet/test_payout_reconciliation.py",
    ),
    ("POST", "/api/v1/admin/payouts/{payout_id:uuid}/bank-transfer"): (
        "payout.bank_transfer_recorded",
        "tests/wallet/test_payout_reconciliation.py",
    ),
    ("POST", "/api/v1/admin/charges/{charge_id:uuid}/refund"): (
        "charge.refunded",
        "tests/wallet/test_charges.py",
    ),
    ("POST", "/api/v1/admin/deposits/{deposit_id:uuid}/refund"): (
        "card_deposit.refunded",
        "tests/wallet/test_stripe.py",
    ),
    ("POST", "/api/v1/admin/disputes/{dispute_id:uuid}/resolve"): (
        "dispute.resolved",
        "tests/wallet/test_escrow.py",
    ),
    ("POST", "/api/v1/admin/promo-codes"): (
        "promo_code.created",
        "tests/wallet/test_promo_codes.py",
    ),
    ("POST", "/api/v1/admin/promo-codes/{code:str}/deactivate"): (
        "promo_code.deactivated",
        "tests/wallet/test_promo_codes.py",
    ),
    ("POST", "/api/v1/social/proofs/{proof_id:uuid}/approve"): (
        "social.proof_approved",
        "tests/social/test_verification.py",
    ),
    ("POST", "/api/v1/social/proofs/{proof_id:uuid}/reject"): (
        "social.proof_rejected",
        "tests/social/test_verification.py",
    ),
    ("POST", "/api/v1/affiliates/{user_id:uuid}/decision"): (
        "affiliate.approved",
        "tests/social/test_affiliates.py",
    ),
    ("POST", "/api/v1/chat/reports/{report_id:uuid}/resolve"): (
        "chat.report_resolved",
        "tests/notifications/chat/test_chat.py",
    ),
    ("POST", "/api/v1/stream/notifications/{user_id:uuid}"): (
        "stream.staff_notice_sent",
        "tests/streams/test_endpoint.py",
    ),
    ("PATCH", "/api/v1/admin/aml/rules/{rule_id:uuid}"): (
        "aml.rule_updated",
        "tests/admin/test_aml.py",
    ),
    ("POST", "/api/v1/admin/aml/alerts/{alert_id:uuid}/acknowledge"): (
        "aml.alert_acknowledged",
        "tests/admin/test_aml.py",
    ),
    ("POST", "/api/v1/admin/aml/cases/{case_id:uuid}/assign"): (
        "aml.case_assigned",
        "tests/admin/test_aml.py",
    ),
    ("POST", "/api/v1/admin/aml/cases/{case_id:uuid}/decision"): (
        "aml.case_cleared",
        "tests/admin/test_aml.py",
    ),
    ("POST", "/api/v1/admin/aml/cases/{case_id:uuid}/export"): (
        "aml.case_exported",
        "tests/admin/test_aml.py",
    ),
    ("POST", "/api/v1/admin/aml/cases/{case_id:uuid}/export.csv"): (
        "aml.case_exported",
        "tests/admin/test_aml_reports.py",
    ),
    ("POST", "/api/v1/admin/aml/cases/{case_id:uuid}/notes"): (
        "aml.case_note_added",
        "tests/admin/test_aml.py",
    ),
    (
        "POST",
        "/api/v1/admin/notification-templates/{kind:str}/{channel:str}/{language:str}/versions",
    ): (
        "notification_template.saved",
        "tests/notifications/test_templates.py",
    ),
    (
        "POST",
        "/api/v1/admin/notification-templates/{kind:str}/{channel:str}/{language:str}/revert",
    ): (
        "notification_template.reverted",
        "tests/notifications/test_templates.py",
    ),
    ("POST", "/api/v1/staff/drips/{code:str}/pause"): (
        "drip_program.paused",
        "tests/notifications/programs/test_links.py",
    ),
    ("POST", "/api/v1/staff/drips/{code:str}/resume"): (
        "drip_program.resumed",
        "tests/notifications/programs/test_links.py",
    ),
    ("PUT", "/api/v1/staff/drips/{code:str}/steps/{position:int}"): (
        "drip_step.edited",
        "tests/notifications/programs/test_links.py",
    ),
    ("POST", "/api/v1/admin/alerts/{alert_id:uuid}/acknowledge"): (
        "staff_alert.acknowledged",
        "tests/admin/test_staff_alerts.py",
    ),
}

# Staff-only POSTs that change nothing, and why they are POSTs.
READS_SENT_AS_POST: dict[tuple[str, str], str] = {
    (
        "POST",
        "/api/v1/admin/notification-templates/{kind:str}/{channel:str}/{language:str}/preview",
    ): "a draft text to fill with sample values travels in the body",
}


def staff_only_writes() -> set[tuple[str, str]]:
    """(method, path) of every route changing state that only admins or reviewers pass."""
    found: set[tuple[str, str]] = set()
    for route in create_app().routes:
        for handler in getattr(route, "route_handlers", []):
            if not isinstance(handler, HTTPRouteHandler):
                continue
            writes = handler.http_methods - {"GET", "HEAD", "OPTIONS"}
            role_guards = [g for g in handler.resolve_guards() if isinstance(g, RoleGuard)]
            if writes and role_guards and all(g.roles <= STAFF_ROLES for g in role_guards):
                found |= {(method, route.path) for method in writes}
    return found - READS_SENT_AS_POST.keys()


def _pattern_of(fstring: str) -> re.Pattern[str]:
    """`kyc.{status}` -> a pattern matching kyc.approved, kyc.rejected, ..."""
    parts = re.split(r"\{[^}]*\}", fstring)
    return re.compile(r"\w+".join(re.escape(part) for part in parts))


def test_every_staff_action_is_listed_with_its_audit_entry() -> None:
    routes = staff_only_writes()
    assert routes, "no staff-only routes found: the guard's roles are no longer readable"
    unlisted = sorted(routes - STAFF_ACTIONS.keys())
    assert not unlisted, f"staff actions with no audit entry listed here: {unlisted}"
    gone = sorted(STAFF_ACTIONS.keys() - routes)
    assert not gone, f"listed staff actions that are no longer staff-only routes: {gone}"


def test_each_listed_audit_action_is_recorded_by_the_code_and_checked_by_its_test() -> None:
    code = "\n".join(p.read_text() for p in SRC.rglob("*.py"))
    # Actions named by an f-string with the outcome in it (f"kyc.{status}"), as patterns.
    named_by_fstring = [
        _pattern_of(text) for text in re.findall(r'f"([a-z_]+\.[a-z_]*\{[^"]*)"', code)
    ]
    tests_root = SRC.parents[1]
    for action, proof in STAFF_ACTIONS.values():
        literal = re.search(rf"[\"']{re.escape(action)}[\"']", code)
        templated = any(p.fullmatch(action) for p in named_by_fstring)
        assert literal or templated, f"{action} is never recorded"
        where = tests_root / proof
        files = list(where.rglob("*.py")) if where.is_dir() else [where]
        assert any(action in f.read_text() for f in files), f"{proof} never checks {action}"


async def test_a_staff_award_is_audited_once_with_its_actor_and_a_replay_adds_nothing(
    client: AppClient, make_user, platform
) -> None:
    admin, member = await make_user(role=Role.ADMIN), await make_user()
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"user_id": str(member.id), "change": 250, "reason_code": "contest_prize"}
    for _ in range(2):
        awarded = await client.post(
            "/api/v1/points/award", json=body, headers={**admin.headers, **key}
        )
        assert awarded.status_code == 200, awarded.text
    refused = await client.post(
        "/api/v1/points/award",
        json={**body, "change": 0},
        headers={**admin.headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert refused.status_code == 422
    [(actor, target, details)] = await audit_trail(platform.pool, "points.adjusted")
    assert (actor, target) == (admin.id, f"user:{member.id}")
    assert (details["change"], details["reason_code"], details["status"]) == (
        250,
        "contest_prize",
        "posted",
    )
    rule = {"user_id": str(member.id), "rule_code": "profile_completed"}
    awarded = await client.post(
        "/api/v1/points/award",
        json=rule,
        headers={**admin.headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert awarded.status_code == 200, awarded.text
    [(actor, _, details)] = await audit_trail(platform.pool, "points.awarded")
    assert (actor, details["rule_code"]) == (admin.id, "profile_completed")
