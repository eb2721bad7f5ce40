"""Points HTTP API: balance, history, the public rules page, leaderboards, badges,
streaks, the admin/internal award endpoint, redemption (`/api/v1/wallet/convert-points`,
its policy and the member's redemptions), email-click confirmation, appeals and the
review queue. Routing, guards and status codes only: each handler calls one service of
an area (`ledger`, `rulebook`, `awarding`, `badges`, `redemption`, `abuse`, `reports`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dracarys import csv_export
from dracarys.edge import source_ip
from dracarys.errors import Forbidden
from dracarys.identity import CurrentUser, Role, authenticated, requires_role
from dracarys.platform import Platform
from dracarys.points.abuse import service as abuse
from dracarys.points.abuse.models import (
    Appeal,
    AppealDecisionInput,
    AppealInput,
    Denial,
    EmailClickConfirmInput,
    EmailClickResult,
    ReviewQueue,
)
from dracarys.points.awarding import service as awarding
from dracarys.points.awarding.models import AwardInput
from dracarys.points.badges import service as badges
from dracarys.points.badges.models import Badge, Leaderboard, Streak
from dracarys.points.ledger import service as ledger
from dracarys.points.ledger.models import Balance, History
from dracarys.points.merch import service as merch
from dracarys.points.merch.models import (
    FulfilmentInput,
    ItemCode,
    MerchItem,
    MerchItemInput,
    MerchOrder,
    OrderStatus,
)
from dracarys.points.models import AwardOutcome, PointsEvent, Rule
from dracarys.points.redemption import service as redemption
from dracarys.points.redemption.models import (
    ConversionPolicy,
    ConvertPointsInput,
    Redemption,
    RedemptionItem,
)
from dracarys.points.reports import service as reports
from dracarys.points.reports.models import EconomyHealth, Report
from dracarys.points.rulebook import service as rulebook
from dracarys.points.rulebook.models import EventInput, RulesPage, RuleVersionInput

STAFF = [requires_role(Role.REVIEWER, Role.ADMIN)]
ADMIN = [requires_role(Role.ADMIN)]


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
        return await ledger.balance(platform, _subject(current_user, user_id))

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
        return await ledger.history(platform, _subject(current_user, user_id), cursor, limit)

    @get("/rules", operation_id="listPointsRules", summary="The earning rules in force (public)")
    async def get_rules(self, platform: NamedDependency[Platform]) -> RulesPage:
        return await rulebook.rules_page(platform)

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
        return await awarding.award_via_api(
            platform, data, current_user.id, source_ip(request), idempotency_key=idempotency_key
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
        return await badges.leaderboard(platform, period, limit)

    @get("/badges", operation_id="listPointsBadges", guards=[authenticated])
    async def get_badges(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> list[Badge]:
        return await badges.badges(platform, current_user.id)

    @get("/streak", operation_id="getPointsStreak", guards=[authenticated])
    async def get_streak(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> Streak:
        return await badges.streak(platform, current_user.id)

    @get(
        "/denials",
        operation_id="listPointsDenials",
        guards=[authenticated],
        summary="Awards that were not given, and why (cap, freeze, KYC) — appealable",
    )
    async def get_denials(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> list[Denial]:
        return await abuse.denials(platform, current_user.id)

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
        return await abuse.file_appeal(platform, current_user.id, data)

    @get(
        "/appeals",
        operation_id="listPointsAppeals",
        guards=[authenticated],
        summary="Your appeals; staff see every open appeal",
    )
    async def list_appeals(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> list[Appeal]:
        return await abuse.appeals(platform, current_user.id, staff=current_user.is_staff)

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
        request: Request[Any, Any, Any],
    ) -> Appeal:
        return await abuse.decide_appeal(
            platform, appeal_id, data, current_user.id, source_ip(request)
        )

    @get(
        "/review-queue",
        operation_id="getPointsReviewQueue",
        guards=STAFF,
        summary="Frozen accounts, fraud flags and open appeals",
    )
    async def review_queue(self, platform: NamedDependency[Platform]) -> ReviewQueue:
        return await abuse.review_queue(platform)

    open_appeals_csv = csv_export.download_route(
        review_queue,
        Appeal,
        "points-appeals.csv",
        path="/review-queue/appeals.csv",
        operation_id="listOpenPointsAppealsCsv",
        rows=lambda queue: queue.open_appeals,
    )

    @post(
        "/accounts/{user_id:uuid}/unfreeze",
        operation_id="unfreezePointsEarning",
        guards=STAFF,
        status_code=HTTP_200_OK,
    )
    async def unfreeze(
        self,
        user_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> Balance:
        await abuse.unfreeze(platform, user_id, actor=current_user.id, source_ip=source_ip(request))
        return await ledger.balance(platform, user_id)

    @get(
        "/rule-versions",
        operation_id="listPointsRuleVersions",
        guards=STAFF,
        summary="Every version of every rule, inactive ones too (newest version first)",
    )
    async def rule_versions(self, platform: NamedDependency[Platform]) -> list[Rule]:
        return await rulebook.rule_history(platform)

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
        request: Request[Any, Any, Any],
    ) -> Rule:
        return await rulebook.new_rule_version(
            platform, code, data, current_user.id, source_ip(request)
        )

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
        request: Request[Any, Any, Any],
    ) -> PointsEvent:
        return await rulebook.create_event(platform, data, current_user.id, source_ip(request))

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
        status = await abuse.record_email_click(
            platform, token, request.headers.get("user-agent"), source_ip(request)
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
        status = await abuse.confirm_email_click(platform, current_user.id, data.token)
        return EmailClickResult(status=status)  # type: ignore[arg-type]

    @get(
        "/redemptions",
        operation_id="listMyRedemptions",
        guards=[authenticated],
        summary="Your redemptions, newest first: discount codes, and credit held until when",
    )
    async def my_redemptions(
        self,
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        limit: int = Parameter(default=20, ge=1, le=100),
    ) -> list[RedemptionItem]:
        return await redemption.redemptions_of(platform, current_user.id, limit)

    @get(
        "/merch",
        operation_id="listMerchCatalogue",
        guards=[authenticated],
        summary="Merch to redeem points for (redeem with target `merch`, the item's code)",
    )
    async def merch_catalogue(self, platform: NamedDependency[Platform]) -> list[MerchItem]:
        return await merch.catalogue(platform)

    @get(
        "/merch/orders",
        operation_id="listMyMerchOrders",
        guards=[authenticated],
        summary="Your merch orders and where their fulfilment is",
    )
    async def my_merch_orders(
        self,
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        limit: int = Parameter(default=20, ge=1, le=100),
    ) -> list[MerchOrder]:
        return await merch.orders_of(platform, current_user.id, limit)

    @get(
        "/economy",
        operation_id="getPointsEconomy",
        guards=STAFF,
        summary="Points issued vs redeemed over the last days, and the balance outstanding",
    )
    async def economy(
        self,
        platform: NamedDependency[Platform],
        days: int = Parameter(default=30, ge=1, le=366),
    ) -> EconomyHealth:
        return await reports.economy_health(platform, days)

    @get("/reports/latest", operation_id="getPointsReport", guards=ADMIN)
    async def latest_report(self, platform: NamedDependency[Platform]) -> Report:
        return await reports.latest_report(platform)


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
    return await redemption.convert_points(
        platform, current_user.id, data, source_ip(request), idempotency_key=idempotency_key
    )


@get(
    "/api/v1/wallet/convert-points/policy",
    operation_id="getPointsConversionPolicy",
    guards=[authenticated],
    tags=["points", "wallet"],
    summary="What a point is worth, and the KYC level and hold each target needs",
    sync_to_thread=False,
)
def conversion_policy(platform: NamedDependency[Platform]) -> ConversionPolicy:
    return redemption.points_conversion_policy(platform)


class MerchAdminController(Controller):
    """Admins keep the merch catalogue and move orders through fulfilment."""

    path = "/api/v1/admin/points/merch"
    tags = ["points"]  # noqa: RUF012 (Litestar declares it as an instance attribute)
    guards = ADMIN

    @get("/items", operation_id="listMerchItemsForAdmin", summary="The catalogue, inactive too")
    async def items(self, platform: NamedDependency[Platform]) -> list[MerchItem]:
        return await merch.catalogue(platform, include_inactive=True)

    @put("/items/{code:str}", operation_id="saveMerchItem", summary="Add or change an item")
    async def save_item(
        self,
        code: Annotated[ItemCode, Parameter(pattern=r"^[a-z0-9][a-z0-9-]{1,39}$")],
        data: JSONBody[MerchItemInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> MerchItem:
        return await merch.save_item(platform, current_user, code, data, source_ip(request))

    @get(
        "/orders",
        operation_id="listMerchOrdersToFulfil",
        summary="Merch orders (open ones unless `status` says) with where each ships",
    )
    async def orders(
        self,
        platform: NamedDependency[Platform],
        status: FromQuery[list[OrderStatus] | None] = None,
        limit: int = Parameter(default=100, ge=1, le=500),
    ) -> list[MerchOrder]:
        return await merch.orders_to_fulfil(platform, status, limit)

    orders_csv = csv_export.download_route(orders, MerchOrder, "merch-orders.csv")

    @post(
        "/orders/{redemption_id:uuid}/status",
        operation_id="moveMerchOrder",
        status_code=HTTP_200_OK,
        summary="Move an order one step (packed, shipped with tracking, delivered) or cancel it",
    )
    async def move(
        self,
        redemption_id: FromPath[uuid.UUID],
        data: JSONBody[FulfilmentInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> MerchOrder:
        return await merch.move_order(
            platform, current_user, redemption_id, data, source_ip(request)
        )


ROUTES: list[Any] = [PointsController, MerchAdminController, convert_points, conversion_policy]
