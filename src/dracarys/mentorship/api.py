"""Mentorship endpoints: discovery and matching, schedules and session types, slots,
booking, cancellation and reschedule, packages of sessions, joining, completion, ratings,
calendar files and feeds, cohort live sessions and mentors' contracts. Handlers only
translate HTTP: each calls one service."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from dracarys.curriculum import ProgramSuggestions
from dracarys.edge import source_ip
from dracarys.identity import CurrentUser, Role, authenticated, requires_role
from dracarys.mentorship.bookings import service as bookings
from dracarys.mentorship.bookings.models import (
    BookingInput,
    BookingView,
    CancelInput,
    CancellationQuote,
    RescheduleInput,
)
from dracarys.mentorship.calendar import service as calendar
from dracarys.mentorship.calendar.models import FeedLink
from dracarys.mentorship.compensation import service as compensation
from dracarys.mentorship.compensation.models import MentorContractInput, MentorContractView
from dracarys.mentorship.discovery import service as discovery
from dracarys.mentorship.discovery.models import (
    LanguagesInput,
    MatchList,
    MentorCard,
    MentorSearch,
    QuizInput,
    QuizView,
)
from dracarys.mentorship.packages import service as packages
from dracarys.mentorship.packages.models import (
    CloseInput,
    PackageActiveInput,
    PackageInput,
    PackageView,
    PurchaseInput,
    PurchaseView,
)
from dracarys.mentorship.schedules import service as schedules
from dracarys.mentorship.schedules.models import (
    ScheduleInput,
    ScheduleView,
    SessionTypeInput,
    SessionTypeView,
    SlotList,
)
from dracarys.mentorship.sessions import service as sessions
from dracarys.mentorship.sessions.models import (
    LiveSessionInput,
    MentorWeek,
    PublicReview,
    RatingInput,
    RecordingInput,
    ReviewView,
    SessionView,
)
from dracarys.platform import Platform
from dracarys.wire import BIGINT_MAX

CALENDAR_MEDIA_TYPE = "text/calendar; charset=utf-8"
# Litestar leaves a bound of 0 out of the document for an optional parameter; stated
# again in `schema_extra` so clients (and the contract test) see it.
PRICE_FILTER = Parameter(ge=0, le=BIGINT_MAX, schema_extra={"minimum": 0})


class MentorDiscoveryController(Controller):
    path = "/api/v1/mentors"
    tags = ("mentorship",)

    @get("", operation_id="searchMentors", summary="Find mentors")
    async def search(
        self,
        platform: NamedDependency[Platform],
        skill: FromQuery[str | None] = None,
        timezone: FromQuery[str | None] = None,
        min_price: Annotated[int | None, PRICE_FILTER] = None,
        max_price: Annotated[int | None, PRICE_FILTER] = None,
        min_rating: Annotated[float | None, Parameter(ge=1, le=5)] = None,
        language: Annotated[str | None, Parameter(pattern=r"^[a-zA-Z]{2}$")] = None,
        available_within_days: Annotated[int | None, Parameter(ge=1, le=60)] = None,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
        currency: Annotated[str | None, Parameter(pattern=r"^[A-Z]{3}$")] = None,
    ) -> MentorSearch:
        """`skill` is a specialty (options, forex…); `timezone` an IANA name or an
        abbreviation such as EAT (only mentors whose hours overlap the viewer's 08:00–20:00
        are kept, most overlap first); prices are hourly rates in minor units, of mentors
        charging in `currency` when it is given."""
        return await discovery.search_mentors(
            platform,
            skill=skill,
            timezone=timezone,
            min_price=min_price,
            max_price=max_price,
            min_rating=min_rating,
            language=language,
            available_within_days=available_within_days,
            limit=limit,
            currency=currency,
        )

    @get(
        "/{mentor_id:uuid}",
        operation_id="getMentor",
        summary="A mentor's public profile: their card, bio and next free slot",
    )
    async def profile(
        self, mentor_id: FromPath[uuid.UUID], platform: NamedDependency[Platform]
    ) -> MentorCard:
        return await discovery.mentor_profile(platform, mentor_id)

    @get(
        "/{mentor_id:uuid}/session-types",
        operation_id="listMentorSessionTypes",
        summary="A mentor's session types",
    )
    async def session_types(
        self, mentor_id: FromPath[uuid.UUID], platform: NamedDependency[Platform]
    ) -> list[SessionTypeView]:
        return await schedules.list_session_types(platform, mentor_id)

    @get(
        "/{mentor_id:uuid}/packages",
        operation_id="listMentorPackages",
        summary="The packages of sessions a mentor sells",
    )
    async def packages(
        self, mentor_id: FromPath[uuid.UUID], platform: NamedDependency[Platform]
    ) -> list[PackageView]:
        return await packages.mentor_packages(platform, mentor_id, None)

    @get(
        "/{mentor_id:uuid}/schedules",
        operation_id="listMentorSchedules",
        summary="A mentor's availability schedules",
        guards=[authenticated],
    )
    async def schedules(
        self, mentor_id: FromPath[uuid.UUID], platform: NamedDependency[Platform]
    ) -> list[ScheduleView]:
        return await schedules.list_schedules(platform, mentor_id)

    @get(
        "/{mentor_id:uuid}/reviews",
        operation_id="listMentorReviews",
        summary="Reviews a mentor received",
    )
    async def reviews(
        self, mentor_id: FromPath[uuid.UUID], platform: NamedDependency[Platform]
    ) -> list[PublicReview]:
        return await sessions.reviews_of(platform, mentor_id)

    @put(
        "/me/languages",
        operation_id="setMentorLanguages",
        summary="Languages a mentor teaches in (ISO 639-1)",
        guards=[requires_role(Role.MENTOR)],
        status_code=HTTP_204_NO_CONTENT,
    )
    async def languages(
        self,
        data: JSONBody[LanguagesInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> None:
        await discovery.set_languages(platform, current_user, data.languages)


class MatchController(Controller):
    """The onboarding quiz of a member (mentee or mentor: staff and observers learn
    nothing here), the mentors matched to it and the programs suggested from it."""

    path = "/api/v1/matches"
    tags = ("mentorship",)
    guards = (requires_role(Role.MENTEE, Role.MENTOR),)

    @get("/quiz", operation_id="getMatchQuiz", summary="My onboarding quiz answers")
    async def saved_quiz(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> QuizView:
        return await discovery.saved_quiz(platform, current_user)

    @put(
        "/quiz",
        operation_id="saveMatchQuiz",
        summary="Onboarding quiz answers",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def quiz(
        self,
        data: JSONBody[QuizInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> None:
        await discovery.save_quiz(platform, current_user, data)

    @get("", operation_id="matchMentors", summary="Mentors matched to the quiz, with reasons")
    async def matches(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> MatchList:
        return await discovery.match_mentors(platform, current_user)

    @get(
        "/programs",
        operation_id="suggestPrograms",
        summary="Programs suggested from the quiz, with reasons",
    )
    async def programs(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> ProgramSuggestions:
        return await discovery.suggested_programs(platform, current_user)


class AvailabilityController(Controller):
    path = "/api/v1"
    tags = ("mentorship",)
    guards = (authenticated,)

    @post(
        "/schedules",
        operation_id="createSchedule",
        status_code=HTTP_201_CREATED,
        summary="Create an availability schedule",
    )
    async def create_schedule(
        self,
        data: JSONBody[ScheduleInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> ScheduleView:
        return await schedules.create_schedule(platform, current_user, data)

    @put(
        "/schedules/{schedule_id:uuid}",
        operation_id="updateSchedule",
        summary="Replace a schedule's hours and overrides",
    )
    async def update_schedule(
        self,
        schedule_id: FromPath[uuid.UUID],
        data: JSONBody[ScheduleInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> ScheduleView:
        return await schedules.update_schedule(platform, current_user, schedule_id, data)

    @post(
        "/session-types",
        operation_id="createSessionType",
        status_code=HTTP_201_CREATED,
        summary="Offer a session type (1:1, group, workshop)",
    )
    async def create_session_type(
        self,
        data: JSONBody[SessionTypeInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> SessionTypeView:
        return await schedules.create_session_type(platform, current_user, data)


class SlotController(Controller):
    """Public, like mentor search: anyone browsing may see when a mentor is free."""

    path = "/api/v1/session-types"
    tags = ("mentorship",)

    @get(
        "/{session_type_id:uuid}/slots",
        operation_id="listSlots",
        summary="Bookable slots in the viewer's timezone",
    )
    async def slots(
        self,
        session_type_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        timezone: FromQuery[str] = "UTC",
        start_date: FromQuery[date | None] = None,
        days: Annotated[int, Parameter(ge=1, le=366)] = 7,
    ) -> SlotList:
        return await schedules.list_slots(
            platform, session_type_id, timezone=timezone, start_date=start_date, days=days
        )


class BookingController(Controller):
    path = "/api/v1"
    tags = ("mentorship",)
    guards = (authenticated,)

    @post(
        "/sessions/book",
        operation_id="bookSession",
        status_code=HTTP_201_CREATED,
        summary="Book a slot: hold it, pay into escrow, confirm",
    )
    async def book(
        self,
        data: JSONBody[BookingInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        idempotency_key: NamedDependency[str],
    ) -> BookingView:
        return await bookings.book_session(platform, current_user, data, idempotency_key)

    @get("/bookings", operation_id="listMyBookings", summary="My bookings")
    async def mine(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> list[BookingView]:
        return await bookings.my_bookings(platform, current_user)

    @get("/bookings/{booking_id:uuid}", operation_id="getBooking", summary="A booking")
    async def get_booking(
        self,
        booking_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> BookingView:
        return await bookings.get_booking(platform, current_user, booking_id)

    @get(
        "/bookings/{booking_id:uuid}/cancellation",
        operation_id="quoteBookingCancellation",
        summary="What cancelling now would refund, and the rule (changes nothing)",
    )
    async def cancellation(
        self,
        booking_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> CancellationQuote:
        return await bookings.cancellation_quote(platform, current_user, booking_id)

    @post(
        "/bookings/{booking_id:uuid}/cancel",
        operation_id="cancelBooking",
        status_code=HTTP_200_OK,
        summary="Cancel under the refund policy",
    )
    async def cancel(
        self,
        booking_id: FromPath[uuid.UUID],
        data: JSONBody[CancelInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> BookingView:
        return await bookings.cancel_booking(
            platform, current_user, booking_id, data.expected_refund_minor
        )

    @post(
        "/bookings/{booking_id:uuid}/reschedule",
        operation_id="rescheduleBooking",
        status_code=HTTP_200_OK,
        summary="Move a 1:1 session to another free slot",
    )
    async def reschedule(
        self,
        booking_id: FromPath[uuid.UUID],
        data: JSONBody[RescheduleInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> BookingView:
        return await bookings.reschedule_booking(platform, current_user, booking_id, data.starts_at)


class MentorPackageController(Controller):
    path = "/api/v1/mentor/packages"
    tags = ("mentorship",)
    guards = (requires_role(Role.MENTOR),)

    @post(
        "",
        operation_id="createPackage",
        status_code=HTTP_201_CREATED,
        summary="Offer a package: N sessions of one session type at one price",
    )
    async def create(
        self,
        data: JSONBody[PackageInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> PackageView:
        return await packages.create_package(platform, current_user, data)

    @get("", operation_id="listMyPackages", summary="My packages, withdrawn ones too")
    async def mine(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> list[PackageView]:
        return await packages.mentor_packages(platform, current_user.id, current_user)

    @put(
        "/{package_id:uuid}/active",
        operation_id="setPackageActive",
        summary="Stop or resume selling a package (purchases keep their sessions)",
    )
    async def set_active(
        self,
        package_id: FromPath[uuid.UUID],
        data: JSONBody[PackageActiveInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> PackageView:
        return await packages.set_package_active(
            platform, current_user, package_id, active=data.active
        )


class PackagePurchaseController(Controller):
    path = "/api/v1"
    tags = ("mentorship",)
    guards = (authenticated,)

    @post(
        "/packages/{package_id:uuid}/purchase",
        operation_id="buyPackage",
        status_code=HTTP_201_CREATED,
        summary="Buy a package: pay once, each session's share held in escrow",
    )
    async def buy(
        self,
        package_id: FromPath[uuid.UUID],
        data: JSONBody[PurchaseInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        idempotency_key: NamedDependency[str],
    ) -> PurchaseView:
        return await packages.buy_package(platform, current_user, package_id, data, idempotency_key)

    @get("/package-purchases", operation_id="listMyPackagePurchases", summary="My packages")
    async def mine(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> list[PurchaseView]:
        return await packages.my_purchases(platform, current_user)

    @get(
        "/package-purchases/{purchase_id:uuid}",
        operation_id="getPackagePurchase",
        summary="A package bought: its sessions and what is left",
    )
    async def one(
        self,
        purchase_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> PurchaseView:
        return await packages.get_purchase(platform, current_user, purchase_id)

    @post(
        "/package-purchases/{purchase_id:uuid}/close",
        operation_id="closePackagePurchase",
        status_code=HTTP_200_OK,
        summary="End a package: its unbooked sessions are refunded in full",
    )
    async def close(
        self,
        purchase_id: FromPath[uuid.UUID],
        data: JSONBody[CloseInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> PurchaseView:
        return await packages.close_purchase(
            platform, current_user, purchase_id, data.expected_refund_minor
        )


class SessionController(Controller):
    path = "/api/v1/sessions/{session_id:uuid}"
    tags = ("mentorship",)
    guards = (authenticated,)

    @get("", operation_id="getSession", summary="A session (room link for participants)")
    async def get_session(
        self,
        session_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> SessionView:
        return await sessions.get_session(platform, current_user, session_id)

    @post(
        "/join",
        operation_id="joinSession",
        status_code=HTTP_200_OK,
        summary="Open the video room; records attendance",
    )
    async def join(
        self,
        session_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> SessionView:
        return await sessions.join_session(platform, current_user, session_id)

    @post(
        "/complete",
        operation_id="completeSession",
        status_code=HTTP_200_OK,
        summary="Mark an ended session completed and release its escrow",
    )
    async def complete(
        self,
        session_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> SessionView:
        return await sessions.complete_session(platform, current_user, session_id)

    @post(
        "/cancel",
        operation_id="cancelSession",
        status_code=HTTP_200_OK,
        summary="The mentor calls a session off (full refunds)",
    )
    async def cancel(
        self,
        session_id: FromPath[uuid.UUID],
        data: JSONBody[CancelInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> SessionView:
        return await bookings.cancel_session(platform, current_user, session_id)

    @post(
        "/ratings",
        operation_id="rateSession",
        status_code=HTTP_201_CREATED,
        summary="Rate a completed session (1–5 and a comment)",
    )
    async def rate(
        self,
        session_id: FromPath[uuid.UUID],
        data: JSONBody[RatingInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> ReviewView:
        return await sessions.rate_session(platform, current_user, session_id, data)

    @get(
        "/invite.ics",
        operation_id="getSessionInvitation",
        summary="ICS invitation",
        media_type=CALENDAR_MEDIA_TYPE,
    )
    async def invitation(
        self,
        session_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> Response[bytes]:
        body = await calendar.session_invitation(platform, current_user, session_id)
        return Response(content=body, media_type=CALENDAR_MEDIA_TYPE)

    @put(
        "/recording",
        operation_id="attachSessionRecording",
        summary="Link a session's recording (a cohort session's to a lesson)",
    )
    async def recording(
        self,
        session_id: FromPath[uuid.UUID],
        data: JSONBody[RecordingInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> SessionView:
        return await sessions.attach_recording(platform, current_user, session_id, data)


class MentorCalendarController(Controller):
    path = "/api/v1/mentor/sessions"
    tags = ("mentorship",)
    guards = (requires_role(Role.MENTOR),)

    @get("", operation_id="listMyMentorSessions", summary="My sessions as a mentor, by week")
    async def week(
        self,
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        start_date: FromQuery[date | None] = None,
        days: Annotated[int, Parameter(ge=1, le=31)] = 7,
    ) -> MentorWeek:
        """Sessions starting in `days` days from `start_date` (default: this week's
        Monday) in the mentor's timezone, with each mentee's seat and attendance."""
        return await sessions.mentor_week(platform, current_user, start_date=start_date, days=days)


class CalendarController(Controller):
    path = "/api/v1/calendar"
    tags = ("mentorship",)

    @post(
        "/feed-link",
        operation_id="createCalendarFeedLink",
        status_code=HTTP_201_CREATED,
        summary="A private iCal feed URL (replaces the previous one)",
        guards=[authenticated],
    )
    async def feed_link(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> FeedLink:
        return await calendar.new_feed_link(platform, current_user)

    @get(
        "/feeds/{feed_name:str}",
        operation_id="getCalendarFeed",
        summary="iCal feed; the URL's token is the credential",
        media_type=CALENDAR_MEDIA_TYPE,
    )
    async def feed(
        self, feed_name: FromPath[str], platform: NamedDependency[Platform]
    ) -> Response[bytes]:
        body = await calendar.feed(platform, feed_name.removesuffix(".ics"))
        return Response(content=body, media_type=CALENDAR_MEDIA_TYPE)


class CohortSessionController(Controller):
    path = "/api/v1/cohorts/{cohort_id:uuid}/live-sessions"
    tags = ("mentorship",)
    guards = (authenticated,)

    @post(
        "",
        operation_id="createCohortLiveSession",
        status_code=HTTP_201_CREATED,
        summary="Schedule a group live session for a cohort",
    )
    async def create(
        self,
        cohort_id: FromPath[uuid.UUID],
        data: JSONBody[LiveSessionInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> SessionView:
        return await sessions.create_live_session(platform, current_user, cohort_id, data)

    @get("", operation_id="listCohortLiveSessions", summary="A cohort's live sessions")
    async def list_sessions(
        self,
        cohort_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> list[SessionView]:
        return await sessions.cohort_live_sessions(platform, current_user, cohort_id)


class MentorContractController(Controller):
    path = "/api/v1/admin/mentors/{user_id:uuid}"
    tags = ("mentorship",)
    guards = (requires_role(Role.ADMIN),)

    @put(
        "/contract",
        operation_id="setMentorContract",
        summary="Set a mentor's share of their payments (blueprint: per mentor contract)",
    )
    async def set_contract(
        self,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[MentorContractInput],
        request: Request[Any, Any, Any],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> MentorContractView:
        return await compensation.set_mentor_contract(
            platform, current_user, user_id, data, source_ip(request)
        )


ROUTES = [
    MentorDiscoveryController,
    MatchController,
    AvailabilityController,
    SlotController,
    BookingController,
    MentorPackageController,
    PackagePurchaseController,
    SessionController,
    MentorCalendarController,
    CalendarController,
    CohortSessionController,
    MentorContractController,
]
