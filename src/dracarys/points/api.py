"""Points HTTP API: balance, history, the public rules page, leaderboards, badges,
streaks, the admin/internal award endpoint, redemption (`/api/v1/wallet/convert-points`),
email-click confirmation, appeals and the review queue. No rules here: see service."""

from __future__ import annotations

import uuid
from typing import Any, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dracarys.errors import Forbidden, NotFound
from dracarys.identity import CurrentUser, Role, authenticated, requires_role
from dracarys.platform import Platform
from dracarys.points import leaderboard, reconcile, service, store
from dracarys.points.models import (
    Appeal,
    AppealDecisionInput,
    AppealInput,
    AwardInput,
    AwardOutcome,
    Badge,
    Balance,
    ConvertPointsInput,
    Denial,
    EmailClickConfirmInput,
    EmailClickResult,
    EventInput,
    History,
    Leaderboard,
    PointsEvent,
    Redemption,
    Report,
    ReviewQueue,
    Rule,
    RulesPage,
    RuleVersionInput,
    Streak,
)
from dracarys.points.rules import tier_thresholds
from dracarys.wire import decode_cursor, encode_cursor

STAFF = [requires_role(Role.REVIEWER, Role.ADMIN)]
ADMIN = [requires_role(Role.ADMIN)]


def _source_ip(request: Request[Any, Any, Any]) -> str | None:
    return request.client.host if request.client else None


def _subject(current_user: CurrentUser, user_id: uuid.UUID | None) -> uuid.UUID:
    subject = user_id or current_user.id
    if not current_user.may_read_as_owner(subject):
        raise Forbidden("you may only read your own points")
    return subject


class PointsController(Controller):
    path = "/api/v1/points"
    tags = ["points"]  # noqa: RUF012 (Litestar declares it as an instance attribute)

    @get(
        "/balance",
        operation_id="getPointsBalance",
        guards=[authenticated],
        summary="Balance, pending points, tier and progress to the next tier",
    )
    async def get_balance(
        self,
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        user_id: FromQuery[uuid.UUID | None] = None,
    ) -> Balance:
        return await service.balance(platform, _subject(current_user, user_id))

    @get(
        "/history",
        operation_id="listPointsHistory",
        guards=[authenticated],
        summary="Ledger entries with reason codes, newest first",
    )
    async def get_history(
        self,
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        user_id: FromQuery[uuid.UUID | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: int = Parameter(default=50, ge=1, le=200),
    ) -> History:
        subject = _subject(current_user, user_id)
        before = decode_cursor(cursor) if cursor else None
        async with platform.pool.acquire() as conn:
            rows = await store.history(conn, subject, before, limit + 1)
        page = rows[:limit]
        items = [
            msgspec.structs.replace(entry, reason=service.reason_text(entry.reason_code))
            for _, entry in page
        ]
        next_cursor = encode_cursor(page[-1][0]) if len(rows) > limit else None
        return History(items=items, next_cursor=next_cursor)

    @get("/rules", operation_id="listPointsRules", summary="The earning rules in force (public)")
    async def get_rules(self, platform: NamedDependency[Platform]) -> RulesPage:
        settings = platform.settings
        async with platform.pool.acquire() as conn:
            rules = [r for r in await store.rules_in_force(conn) if r.active]
            events = await store.current_events(conn, platform.clock.now())
        return RulesPage(
            rules=rules,
            events=events,
            social_email_daily_cap=settings.points_social_email_daily_cap,
            pending_window_days=settings.points_pending_window_days,
            expiry_months=settings.points_expiry_months,
            expiry_login_grace_days=settings.points_expiry_login_grace_days,
            tier_thresholds={t.value: floor for t, floor in tier_thresholds(settings)},
            tier_window_days=settings.points_tier_window_days,
        )

    @post(
        "/award",
        operation_id="awardPoints",
        guards=ADMIN,
        status_code=HTTP_200_OK,
        summary="Award by rule, or adjust, with an idempotency key (admins and services)",
    )
    async def award(
        self,
        data: JSONBody[AwardInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
        idempotency_key: NamedDependency[str],
    ) -> AwardOutcome:
        return await service.award_via_api(
            platform, data, current_user.id, _source_ip(request), idempotency_key=idempotency_key
        )

    @get(
        "/leaderboards/{period:str}",
        operation_id="getPointsLeaderboard",
        summary="Top earners of the current week, month or season",
    )
    async def get_leaderboard(
        self,
        period: FromPath[str],
        platform: NamedDependency[Platform],
        limit: int = Parameter(default=20, ge=1, le=100),
    ) -> Leaderboard:
        if period not in ("weekly", "monthly", "season"):
            raise NotFound("leaderboards are weekly, monthly or season")
        chosen: Literal["weekly", "monthly", "season"] = period  # type: ignore[assignment]
        async with platform.pool.acquire() as conn:
            return await leaderboard.top(conn, platform, chosen, platform.clock.now(), limit)

    @get("/badges", operation_id="listPointsBadges", guards=[authenticated])
    async def get_badges(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> list[Badge]:
        async with platform.pool.acquire() as conn:
            rows = await store.badges(conn, current_user.id)
        return [Badge(badge=r["badge"], earned_at=r["earned_at"]) for r in rows]

    @get("/streak", operation_id="getPointsStreak", guards=[authenticated])
    async def get_streak(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> Streak:
        return await service.streak(platform, current_user.id)

    @get(
        "/denials",
        operation_id="listPointsDenials",
        guards=[authenticated],
        summary="Awards that were not given, and why (cap, freeze, KYC) — appealable",
    )
    async def get_denials(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> list[Denial]:
        async with platform.pool.acquire() as conn:
            return await store.denials(conn, current_user.id, 100)

    @post(
        "/appeals",
        operation_id="filePointsAppeal",
        guards=[authenticated],
        status_code=HTTP_201_CREATED,
    )
    async def file_appeal(
        self,
        data: JSONBody[AppealInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> Appeal:
        return await service.file_appeal(platform, current_user.id, data)

    @get(
        "/appeals",
        operation_id="listPointsAppeals",
        guards=[authenticated],
        summary="Your appeals; staff see every open appeal",
    )
    async def list_appeals(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> list[Appeal]:
        async with platform.pool.acquire() as conn:
            if current_user.is_staff:
                return await store.appeals(conn, None, True, 200)
            return await store.appeals(conn, current_user.id, False, 200)

    @post(
        "/appeals/{appeal_id:uuid}/decision",
        operation_id="decidePointsAppeal",
        guards=STAFF,
        status_code=HTTP_200_OK,
    )
    async def decide_appeal(
        self,
        appeal_id: FromPath[uuid.UUID],
        data: JSONBody[AppealDecisionInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> Appeal:
        return await service.decide_appeal(platform, appeal_id, data, current_user.id)

    @get(
        "/review-queue",
        operation_id="getPointsReviewQueue",
        guards=STAFF,
        summary="Frozen accounts, fraud flags and open appeals",
    )
    async def review_queue(self, platform: NamedDependency[Platform]) -> ReviewQueue:
        async with platform.pool.acquire() as conn:
            return ReviewQueue(
                frozen_accounts=await store.frozen_accounts(conn),
                fraud_flags=await store.open_fraud_flags(conn),
                open_appeals=await store.appeals(conn, None, True, 200),
            )

    @post(
        "/accounts/{user_id:uuid}/unfreeze",
        operation_id="unfreezePointsEarning",
        guards=STAFF,
        status_code=HTTP_200_OK,
    )
    async def unfreeze(
        self, user_id: FromPath[uuid.UUID], platform: NamedDependency[Platform]
    ) -> Balance:
        await service.unfreeze(platform, user_id)
        return await service.balance(platform, user_id)

    @post(
        "/rules/{code:str}/versions",
        operation_id="createPointsRuleVersion",
        guards=ADMIN,
        status_code=HTTP_201_CREATED,
        summary="Change a rule (creates a new version)",
    )
    async def new_rule_version(
        self,
        code: FromPath[str],
        data: JSONBody[RuleVersionInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> Rule:
        return await service.new_rule_version(platform, code, data, current_user.id)

    @post(
        "/events",
        operation_id="createPointsEvent",
        guards=ADMIN,
        status_code=HTTP_201_CREATED,
        summary="A limited-time event multiplying chosen rules",
    )
    async def create_event(
        self,
        data: JSONBody[EventInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> PointsEvent:
        return await service.create_event(platform, data, current_user.id)

    @get(
        "/email-clicks/{token:str}",
        operation_id="recordPointsEmailClick",
        summary="Follow a marketing-email link (scanners are ignored)",
    )
    async def email_click(
        self,
        token: FromPath[str],
        platform: NamedDependency[Platform],
        request: Request[Any, Any, Any],
    ) -> EmailClickResult:
        status = await service.record_email_click(
            platform, token, request.headers.get("user-agent"), _source_ip(request)
        )
        return EmailClickResult(status=status)  # type: ignore[arg-type]

    @post(
        "/email-clicks/confirm",
        operation_id="confirmPointsEmailClick",
        guards=[authenticated],
        status_code=HTTP_200_OK,
        summary="The signed-in session the click led to (earns the email-click points)",
    )
    async def confirm_email_click(
        self,
        data: JSONBody[EmailClickConfirmInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> EmailClickResult:
        status = await service.confirm_email_click(platform, current_user.id, data.token)
        return EmailClickResult(status=status)  # type: ignore[arg-type]

    @get("/reports/latest", operation_id="getPointsReport", guards=ADMIN)
    async def latest_report(self, platform: NamedDependency[Platform]) -> Report:
        async with platform.pool.acquire() as conn:
            row = await store.latest_report(conn)
        if row is None:
            report = await reconcile.reconcile(platform)
            return Report(day=report["day"], report=report)
        return Report(day=row["day"].isoformat(), report=row["report"])


@post(
    "/api/v1/wallet/convert-points",
    operation_id="convertPoints",
    guards=[authenticated],
    status_code=HTTP_201_CREATED,
    tags=["points", "wallet"],
    summary="Redeem points: discount, wallet credit, merch, course unlock, mentor credit",
)
async def convert_points(
    data: JSONBody[ConvertPointsInput],
    platform: NamedDependency[Platform],
    current_user: NamedDependency[CurrentUser],
    request: Request[Any, Any, Any],
    idempotency_key: NamedDependency[str],
) -> Redemption:
    return await service.convert_points(
        platform, current_user.id, data, _source_ip(request), idempotency_key=idempotency_key
    )


ROUTES: list[Any] = [PointsController, convert_points]
