"""Identity HTTP API under /api/v1: signup, login, token refresh, logout, verification,
two-factor and step-up, OIDC sign-in, users and profiles, KYC upload/download, the
reviewer queue and admin actions; sub-areas add theirs (password recovery, the caller's
own sessions and the sign-in providers). Handlers only translate HTTP; the rules live in
the services. The app mounts `ROUTES`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.datastructures import Cookie, UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED

from dracarys import csv_export
from dracarys.edge import source_ip
from dracarys.identity import service, stepup, twofactor
from dracarys.identity.access import CurrentUser, Role, authenticated, requires_role
from dracarys.identity.audit.service import user_audit_trail, verify_audit_chain
from dracarys.identity.kyc import service as kyc
from dracarys.identity.kyc.api import ROUTES as KYC_ROUTES
from dracarys.identity.kyc.vendor.api import ROUTES as KYC_VENDOR_ROUTES
from dracarys.identity.kyc.vendor.smile_id import configured_verifier
from dracarys.identity.models import (
    AuditCheck,
    AuditEntry,
    BanInput,
    CodeInput,
    Done,
    EndorsementInput,
    KycDocument,
    KycOverride,
    KycStatus,
    LoginInput,
    Me,
    MentorProfileUpdate,
    MentorStatusInput,
    OidcCallbackInput,
    OidcStart,
    PhoneVerificationInput,
    PrivateUser,
    ProfileUpdate,
    PublicUser,
    RecoveryCodes,
    RefreshInput,
    ReviewDecision,
    RoleChange,
    SignInSession,
    SignupInput,
    SignupResult,
    StepUpInput,
    StepUpToken,
    TokenPair,
    TotpEnrolment,
)
from dracarys.identity.profiles import admin
from dracarys.identity.profiles import service as profiles
from dracarys.identity.recovery import api as recovery_api
from dracarys.identity.sessions import api as sessions_api
from dracarys.identity.sessions import oidc
from dracarys.identity.sessions import service as sessions
from dracarys.identity.signup_hooks import SignupHooks, SignupRequest
from dracarys.identity.throttle import DEVICE_COOKIE, DEVICE_TOKEN_TTL
from dracarys.identity.verification import service as verification
from dracarys.platform import Platform

# Litestar refuses larger bodies before reading them; the service enforces the
# configured document limit (DRACARYS_KYC_MAX_UPLOAD_BYTES) below this.
KYC_UPLOAD_MAX_BODY = 51_000_000
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}


# requires_role also makes staff pass two-factor before acting as staff.
STAFF = [requires_role(Role.REVIEWER, Role.ADMIN)]
ADMIN = [requires_role(Role.ADMIN)]


@dataclass
class KycUploadForm:
    doc_type: str
    file: UploadFile
    # Which government ID it is (Smile ID's id_type), for the verification vendor.
    id_type: str | None = None


class AuthController(Controller):
    path = "/api/v1"
    tags = ("identity",)

    @post(
        "/signup", operation_id="signup", status_code=HTTP_201_CREATED, summary="Create an account"
    )
    async def signup(
        self,
        data: JSONBody[SignupInput],
        platform: NamedDependency[Platform],
        signup_hooks: NamedDependency[SignupHooks],
        request: Request[Any, Any, Any],
    ) -> SignupResult:
        address = source_ip(request)
        return await service.signup(
            platform,
            data,
            address,
            request=SignupRequest.of(request, address),
            hooks=signup_hooks,
        )

    @post("/login", operation_id="login", status_code=HTTP_200_OK, summary="Sign in")
    async def login(
        self,
        data: JSONBody[LoginInput],
        platform: NamedDependency[Platform],
        request: Request[Any, Any, Any],
    ) -> Response[TokenPair]:
        signed_in = await sessions.login(
            platform,
            data,
            source_ip=source_ip(request),
            device_token=request.cookies.get(DEVICE_COOKIE),
            user_agent=request.headers.get("user-agent"),
        )
        # HttpOnly: page scripts never see it; sent back only to this path.
        device = Cookie(
            key=DEVICE_COOKIE,
            value=signed_in.device_token,
            max_age=int(DEVICE_TOKEN_TTL.total_seconds()),
            path="/api/v1/login",
            httponly=True,
            secure=platform.settings.public_url.startswith("https://"),
            samesite="strict",
        )
        return Response(signed_in.tokens, cookies=[device])

    @post(
        "/token/refresh",
        operation_id="refreshToken",
        status_code=HTTP_200_OK,
        summary="Rotate a refresh token",
    )
    async def refresh(
        self,
        data: JSONBody[RefreshInput],
        platform: NamedDependency[Platform],
        request: Request[Any, Any, Any],
    ) -> TokenPair:
        return await sessions.refresh_session(
            platform, data.refresh_token, source_ip=source_ip(request)
        )

    @post("/logout", operation_id="logout", status_code=HTTP_200_OK, guards=[authenticated])
    async def logout(
        self,
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> Done:
        await sessions.logout(platform, current_user, source_ip(request))
        return Done()

    # A refusal's `extra.reason` says why: unknown, already_used or expired.
    @get("/verify-email", operation_id="verifyEmail", summary="Use an e-mail verification token")
    async def verify_email(
        self, token: FromQuery[str], platform: NamedDependency[Platform]
    ) -> Done:
        await verification.verify_email(platform, token)
        return Done()

    # No `authenticated` guard: the `current_user` dependency already refuses anonymous
    # callers, and Litestar copies the handler for every guard call, on every request.
    @get("/me", operation_id="getMe")
    async def me(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> Me:
        return await service.me(platform, current_user)

    @post(
        "/me/email-verification",
        operation_id="resendEmailVerification",
        status_code=HTTP_202_ACCEPTED,
        guards=[authenticated],
    )
    async def resend_email(
        self,
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> Done:
        await verification.resend_email_verification(platform, current_user, source_ip(request))
        return Done()

    @post(
        "/me/phone-verification",
        operation_id="requestPhoneCode",
        status_code=HTTP_202_ACCEPTED,
        guards=[authenticated],
    )
    async def request_phone_code(
        self,
        data: JSONBody[PhoneVerificationInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> Done:
        await verification.request_phone_code(
            platform, current_user, data.phone, source_ip(request)
        )
        return Done()

    @post(
        "/me/phone-verification/confirm",
        operation_id="confirmPhoneCode",
        status_code=HTTP_200_OK,
        guards=[authenticated],
    )
    async def confirm_phone(
        self,
        data: JSONBody[CodeInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> Done:
        await verification.confirm_phone(platform, current_user, data.code)
        return Done()

    @post(
        "/me/totp",
        operation_id="beginTotpEnrolment",
        status_code=HTTP_200_OK,
        guards=[authenticated],
    )
    async def begin_totp(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> TotpEnrolment:
        return await twofactor.begin_totp_enrolment(platform, current_user)

    @post(
        "/me/totp/confirm",
        operation_id="confirmTotpEnrolment",
        status_code=HTTP_200_OK,
        guards=[authenticated],
    )
    async def confirm_totp(
        self,
        data: JSONBody[CodeInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> RecoveryCodes:
        return await twofactor.confirm_totp_enrolment(
            platform, current_user, data.code, source_ip(request)
        )

    @post(
        "/me/totp/disable",
        operation_id="disableTotp",
        status_code=HTTP_200_OK,
        guards=[authenticated],
        summary="Turn two-factor authentication off (needs a step-up)",
    )
    async def disable_totp(
        self,
        data: JSONBody[StepUpInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> Done:
        await twofactor.disable_two_factor(
            platform,
            current_user,
            totp_code=data.totp_code,
            step_up_token=data.step_up_token,
            source_ip=source_ip(request),
        )
        return Done()

    @post("/me/step-up", operation_id="stepUp", status_code=HTTP_200_OK, guards=[authenticated])
    async def step_up(
        self,
        data: JSONBody[CodeInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> StepUpToken:
        return await stepup.issue_step_up_token(platform, current_user, data.code)

    @get("/auth/oidc/{provider:str}/start", operation_id="startOidcSignIn")
    async def oidc_start(
        self, provider: FromPath[str], platform: NamedDependency[Platform]
    ) -> OidcStart:
        return await oidc.start_sign_in(platform, provider)

    @post(
        "/auth/oidc/{provider:str}/callback",
        operation_id="finishOidcSignIn",
        status_code=HTTP_200_OK,
    )
    async def oidc_callback(
        self,
        provider: FromPath[str],
        data: JSONBody[OidcCallbackInput],
        platform: NamedDependency[Platform],
        signup_hooks: NamedDependency[SignupHooks],
        request: Request[Any, Any, Any],
    ) -> TokenPair:
        address = source_ip(request)
        return await oidc.finish_sign_in(
            platform,
            provider,
            code=data.code,
            state=data.state,
            source_ip=address,
            user_agent=request.headers.get("user-agent"),
            signup=(SignupRequest.of(request, address), signup_hooks),
        )


class UsersController(Controller):
    path = "/api/v1"
    tags = ("identity",)

    @get("/users/{user_id:uuid}", operation_id="getUser")
    async def get_user(
        self,
        user_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        request: Request[Any, Any, Any],
    ) -> PublicUser | PrivateUser:
        viewer = request.scope.get("user")
        return await profiles.user_view(
            platform, viewer if isinstance(viewer, CurrentUser) else None, user_id
        )

    @patch("/users/{user_id:uuid}/profile", operation_id="updateProfile", guards=[authenticated])
    async def update_profile(
        self,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[ProfileUpdate],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> PublicUser | PrivateUser:
        return await profiles.update_profile(platform, current_user, user_id, data)

    @patch(
        "/users/{user_id:uuid}/mentor-profile",
        operation_id="updateMentorProfile",
        guards=[authenticated],
    )
    async def update_mentor_profile(
        self,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[MentorProfileUpdate],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> PublicUser | PrivateUser:
        return await profiles.update_mentor_profile(platform, current_user, user_id, data)

    @post(
        "/users/{user_id:uuid}/endorsements",
        operation_id="endorseUser",
        status_code=HTTP_201_CREATED,
        guards=[authenticated],
    )
    async def endorse(
        self,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[EndorsementInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> Done:
        await profiles.endorse(platform, current_user, user_id, data.skill.value)
        return Done()

    @patch(
        "/users/{user_id:uuid}/kyc-upload",
        operation_id="uploadKycDocument",
        guards=[authenticated],
        request_max_body_size=KYC_UPLOAD_MAX_BODY,
    )
    async def kyc_upload(
        self,
        user_id: FromPath[uuid.UUID],
        data: MultipartBody[KycUploadForm],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> KycDocument:
        content = await data.file.read()
        return await kyc.upload_document(
            platform,
            current_user,
            user_id,
            data.doc_type,
            content,
            source_ip(request),
            verifier=configured_verifier(platform.settings),
            id_type=data.id_type or None,
        )

    @get("/users/{user_id:uuid}/kyc", operation_id="getKycStatus", guards=[authenticated])
    async def kyc_status(
        self,
        user_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> KycStatus:
        return await kyc.kyc_status(platform, current_user, user_id)

    @get(
        "/kyc/documents/{document_id:uuid}/file",
        operation_id="downloadKycDocument",
        guards=[authenticated],
    )
    async def kyc_file(
        self,
        document_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> Response[bytes]:
        document, content = await kyc.read_document(platform, current_user, document_id)
        name = f"{document.doc_type}{_EXTENSIONS.get(document.content_type, '')}"
        return Response(
            content=content,
            media_type=document.content_type,
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-store",
            },
        )


class StaffController(Controller):
    path = "/api/v1"
    tags = ("identity-admin",)

    @get("/kyc/reviews", operation_id="listKycReviews", guards=STAFF)
    async def pending(self, platform: NamedDependency[Platform]) -> list[KycDocument]:
        return await kyc.pending_documents(platform)

    pending_csv = csv_export.download_route(pending, KycDocument, "kyc-queue.csv")

    @post(
        "/kyc/documents/{document_id:uuid}/approve",
        operation_id="approveKycDocument",
        status_code=HTTP_200_OK,
        guards=STAFF,
    )
    async def approve(
        self,
        document_id: FromPath[uuid.UUID],
        data: JSONBody[ReviewDecision],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> KycDocument:
        return await kyc.decide_document(
            platform,
            current_user,
            document_id,
            approve=True,
            reason=data.reason,
            source_ip=source_ip(request),
        )

    @post(
        "/kyc/documents/{document_id:uuid}/reject",
        operation_id="rejectKycDocument",
        status_code=HTTP_200_OK,
        guards=STAFF,
    )
    async def reject(
        self,
        document_id: FromPath[uuid.UUID],
        data: JSONBody[ReviewDecision],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> KycDocument:
        return await kyc.decide_document(
            platform,
            current_user,
            document_id,
            approve=False,
            reason=data.reason,
            source_ip=source_ip(request),
        )

    @put("/admin/users/{user_id:uuid}/role", operation_id="changeUserRole", guards=ADMIN)
    async def change_role(
        self,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[RoleChange],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> Done:
        await admin.change_role(platform, current_user, user_id, data.role, source_ip(request))
        return Done()

    @post(
        "/admin/users/{user_id:uuid}/ban",
        operation_id="banUser",
        status_code=HTTP_200_OK,
        guards=ADMIN,
    )
    async def ban(
        self,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[BanInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> Done:
        await admin.set_ban(
            platform,
            current_user,
            user_id,
            banned=True,
            reason=data.reason,
            source_ip=source_ip(request),
        )
        return Done()

    @post(
        "/admin/users/{user_id:uuid}/unban",
        operation_id="unbanUser",
        status_code=HTTP_200_OK,
        guards=ADMIN,
    )
    async def unban(
        self,
        user_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> Done:
        await admin.set_ban(
            platform,
            current_user,
            user_id,
            banned=False,
            reason=None,
            source_ip=source_ip(request),
        )
        return Done()

    @put("/admin/users/{user_id:uuid}/kyc-level", operation_id="overrideKycLevel", guards=ADMIN)
    async def override_kyc(
        self,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[KycOverride],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> Done:
        await admin.override_kyc_level(
            platform, current_user, user_id, data.level, data.reason, source_ip(request)
        )
        return Done()

    # Reviewers vet mentors (blueprint 12: probation until vetted); admins may too.
    @patch("/admin/mentors/{user_id:uuid}", operation_id="setMentorStatus", guards=STAFF)
    async def mentor_status(
        self,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[MentorStatusInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> Done:
        await admin.set_mentor_status(platform, current_user, user_id, data, source_ip(request))
        return Done()

    @get("/admin/users/{user_id:uuid}/audit", operation_id="getUserAuditTrail", guards=ADMIN)
    async def user_audit(
        self,
        user_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    ) -> list[AuditEntry]:
        return await user_audit_trail(platform, user_id, limit=limit)

    @get(
        "/admin/users/{user_id:uuid}/sessions",
        operation_id="listUserSessions",
        guards=STAFF,
        summary="A member's signed-in devices",
    )
    async def user_sessions(
        self,
        user_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> list[SignInSession]:
        return await sessions.sessions_of_user(platform, current_user, user_id)

    @delete(
        "/admin/users/{user_id:uuid}/sessions/{session_id:uuid}",
        operation_id="revokeUserSession",
        guards=STAFF,
        summary="Sign one of a member's devices out",
    )
    async def revoke_user_session(
        self,
        user_id: FromPath[uuid.UUID],
        session_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> None:
        await sessions.revoke_session_by_staff(
            platform, current_user, user_id, session_id, source_ip(request)
        )

    @get("/admin/audit/verify", operation_id="verifyAuditLog", guards=ADMIN)
    async def verify_audit(self, platform: NamedDependency[Platform]) -> AuditCheck:
        return await verify_audit_chain(platform)


ROUTES = [
    AuthController,
    UsersController,
    StaffController,
    *KYC_ROUTES,
    *KYC_VENDOR_ROUTES,
    *recovery_api.ROUTES,
    *sessions_api.ROUTES,
]
