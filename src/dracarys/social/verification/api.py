"""Social verification routes: the member's platforms, the OAuth round trip
(`/start`, then `POST /api/v1/social/verify` with the code the platform sent back), a new
check on demand, manual proofs with their screenshots, and the reviewers' queue."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, MultipartBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dracarys import csv_export
from dracarys.edge import source_ip
from dracarys.identity import CurrentUser, Role, authenticated, requires_role
from dracarys.platform import Platform
from dracarys.social.verification import service
from dracarys.social.verification.models import (
    MyVerifications,
    OAuthStart,
    PlatformStatus,
    ProofQueueItem,
    ProofView,
    ReviewInput,
    VerifyInput,
)

STAFF = [requires_role(Role.REVIEWER, Role.ADMIN)]
# Litestar refuses larger bodies before reading them; the service enforces the configured
# screenshot limit (DRACARYS_SOCIAL_PROOF_MAX_BYTES) below this.
PROOF_MAX_BODY = 21_000_000
_EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp"}


@dataclass
class ProofForm:
    platform: str
    profile_url: str
    file: UploadFile


class VerificationController(Controller):
    path = "/api/v1/social"
    tags = ("social",)
    guards = [authenticated]  # noqa: RUF012 - Litestar's declared controller attribute

    @get(
        "/verifications",
        operation_id="listMySocialVerifications",
        summary="Per platform: how a follow is verified here, where yours stands, what's next",
    )
    async def mine(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> MyVerifications:
        return await service.my_verifications(platform, current_user.id)

    @post(
        "/verify/{followed:str}/start",
        operation_id="startSocialVerification",
        summary="Begin connecting a platform account (OAuth with PKCE): where to send the browser",
        status_code=HTTP_200_OK,
    )
    async def start(
        self,
        followed: FromPath[str],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> OAuthStart:
        return await service.start_oauth(platform, current_user, followed)

    @post(
        "/verify",
        operation_id="verifySocialFollow",
        summary="Finish connecting: the platform's code is exchanged and the follow checked",
        status_code=HTTP_200_OK,
    )
    async def verify(
        self,
        data: JSONBody[VerifyInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> PlatformStatus:
        return await service.finish_oauth(platform, current_user, data)

    @post(
        "/verifications/{followed:str}/check",
        operation_id="checkSocialFollowAgain",
        summary="Check a connected platform again (after following it)",
        status_code=HTTP_200_OK,
    )
    async def check(
        self,
        followed: FromPath[str],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> PlatformStatus:
        return await service.check_again(platform, current_user, followed)

    @post(
        "/proofs",
        operation_id="submitSocialProof",
        summary="Send a manual proof: a screenshot of your profile and its link",
        status_code=HTTP_201_CREATED,
        request_max_body_size=PROOF_MAX_BODY,
    )
    async def submit(
        self,
        data: MultipartBody[ProofForm],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> ProofView:
        content = await data.file.read()
        return await service.submit_proof(
            platform, current_user, data.platform, data.profile_url, content
        )

    @get(
        "/proofs/{proof_id:uuid}/screenshot",
        operation_id="getSocialProofScreenshot",
        summary="A proof's screenshot (its member and staff only)",
    )
    async def screenshot(
        self,
        proof_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> Response[bytes]:
        proof, content = await service.proof_screenshot(platform, current_user, proof_id)
        name = f"{proof.platform}-proof{_EXTENSIONS.get(proof.content_type, '')}"
        return Response(
            content=content,
            media_type=proof.content_type,
            headers={
                "Content-Disposition": f'inline; filename="{name}"',
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "private, no-store",
            },
        )


class ProofReviewController(Controller):
    path = "/api/v1/social/proofs"
    tags = ("social",)
    guards = STAFF

    @get(
        "/queue",
        operation_id="listSocialProofQueue",
        summary="Manual proofs waiting for a reviewer, oldest first",
    )
    async def queue(self, platform: NamedDependency[Platform]) -> list[ProofQueueItem]:
        return await service.review_queue(platform)

    queue_csv = csv_export.download_route(queue, ProofQueueItem, "follow-proofs.csv")

    @post(
        "/{proof_id:uuid}/approve",
        operation_id="approveSocialProof",
        summary="Approve a proof: the follow is verified (and awarded the first time)",
        status_code=HTTP_200_OK,
    )
    async def approve(
        self,
        proof_id: FromPath[uuid.UUID],
        data: JSONBody[ReviewInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> ProofView:
        return await service.decide_proof(
            platform,
            current_user,
            proof_id,
            approve=True,
            reason=data.reason,
            source_ip=source_ip(request),
        )

    @post(
        "/{proof_id:uuid}/reject",
        operation_id="rejectSocialProof",
        summary="Reject a proof, saying why (the member reads it)",
        status_code=HTTP_200_OK,
    )
    async def reject(
        self,
        proof_id: FromPath[uuid.UUID],
        data: JSONBody[ReviewInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> ProofView:
        return await service.decide_proof(
            platform,
            current_user,
            proof_id,
            approve=False,
            reason=data.reason,
            source_ip=source_ip(request),
        )


ROUTES: list[Any] = [VerificationController, ProofReviewController]
