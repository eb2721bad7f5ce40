"""A local Smile ID speaking its server-to-server wire format for document verification:
`POST /v1/upload` (prep upload, our signature checked) answering with an upload URL and a
Smile job id, `PUT` of the job's zip to that URL (its `info.json` and image checked), then
the result: a callback signed with the partner's API key, posted to the callback URL the
job named (`delivery="post"`), held for the test to post through its own client
(`"hold"`), or lost (`"lose"`: only `POST /v1/job_status` tells it). A test chooses the
ResultCode and ResultText (`outcome`, or `outcomes` per user id)."""

from __future__ import annotations

import base64
import io
import json
import secrets
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from litestar import Litestar, Request, Response, post, put
from litestar.background_tasks import BackgroundTask
from litestar.params import FromPath

from dracarys.identity.kyc.vendor.smile_id import sign

Delivery = Literal["post", "hold", "lose"]

VERIFIED = ("0810", "Document Verified")
REJECTED_FRAUD = ("0812", "Document Not Verified - Security features could not be verified")
PROVISIONAL = ("0814", "Provisional - Human Judgement Pending")


@dataclass
class SmileJob:
    job_id: str
    user_id: str
    smile_job_id: str
    callback_url: str
    id_type: str = ""
    country: str = ""
    image: bytes = b""
    uploaded: bool = False
    result: tuple[str, str] | None = None


@dataclass
class HeldCallback:
    url: str
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


@dataclass
class SmileIdSimulator:
    partner_id: str = "2718"
    api_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    base_url: str = ""  # set once served
    delivery: Delivery = "hold"
    outcome: tuple[str, str] = VERIFIED
    outcomes: dict[str, tuple[str, str]] = field(default_factory=dict)
    # The clock the callbacks' timestamps are signed with (the app's, in tests).
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    jobs: dict[str, SmileJob] = field(default_factory=dict)
    held: list[HeldCallback] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    posted: list[int] = field(default_factory=list)
    # False: jobs stay in progress (no callback; the status query says not complete).
    completes: bool = True

    def reset(self) -> None:
        self.completes = True
        self.delivery = "hold"
        self.outcome = VERIFIED
        self.outcomes.clear()
        self.jobs.clear()
        self.held.clear()
        self.refused.clear()
        self.posted.clear()

    # ---- what Smile ID signs ------------------------------------------------------------

    def signed(self, api_key: str | None = None, at: datetime | None = None) -> dict[str, str]:
        timestamp = (at or self.now()).isoformat()
        return {
            "timestamp": timestamp,
            "signature": sign(self.partner_id, api_key or self.api_key, timestamp),
        }

    def result_body(
        self,
        job: SmileJob,
        *,
        api_key: str | None = None,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        assert job.result is not None
        code, text = job.result
        return {
            "Actions": {
                "Verify_Document": "Passed" if code in ("0810", "0816") else "Failed",
                "Document_Check": "Passed" if code in ("0810", "0816") else "Failed",
            },
            "ResultCode": code,
            "ResultText": text,
            "ResultType": "DocumentVerification",
            "SmileJobID": job.smile_job_id,
            "PartnerParams": {"job_id": job.job_id, "user_id": job.user_id, "job_type": 6},
            "Country": job.country,
            "IDType": job.id_type,
            **self.signed(api_key, at),
        }

    def callback_for(self, job: SmileJob, **signing: Any) -> HeldCallback:
        return HeldCallback(job.callback_url, json.dumps(self.result_body(job, **signing)).encode())

    def job_of_user(self, user_id: object) -> SmileJob:
        return next(j for j in self.jobs.values() if j.user_id == str(user_id))

    async def deliver(self, client: httpx.AsyncClient) -> list[httpx.Response]:
        """Post the held callbacks through `client` (the app's test client)."""
        held, self.held = self.held, []
        return [
            await client.post(c.path, content=c.body, headers={"Content-Type": "application/json"})
            for c in held
        ]

    async def post_held(self) -> list[int]:
        """Post the held callbacks to the callback URLs their jobs named, as Smile ID does."""
        held, self.held = self.held, []
        for callback in held:
            await self._post_callback(callback)
        return self.posted[-len(held) :] if held else []

    # ---- the HTTP API -----------------------------------------------------------------

    def _our_signature(self, body: dict[str, Any], partner_field: str) -> bool:
        timestamp, signature = body.get("timestamp"), body.get("signature")
        if body.get(partner_field) != self.partner_id or not timestamp or not signature:
            return False
        return bool(sign(self.partner_id, self.api_key, str(timestamp)) == signature)

    async def _post_callback(self, callback: HeldCallback) -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.post(
                callback.url, content=callback.body, headers={"Content-Type": "application/json"}
            )
        self.posted.append(answer.status_code)

    def app(self) -> Litestar:
        sim = self

        @post("/v1/upload", status_code=200)
        async def prep_upload(request: Request[Any, Any, Any]) -> Response[Any]:
            body = await request.json()
            if not sim._our_signature(body, "smile_client_id"):
                sim.refused.append("upload: bad signature")
                return Response({"code": "2205", "error": "You're not authorized"}, status_code=401)
            params = body.get("partner_params") or {}
            if params.get("job_type") != 6 or not params.get("job_id") or not params.get("user_id"):
                sim.refused.append("upload: partner_params")
                refusal = {"code": "2213", "error": "Invalid partner_params"}
                return Response(refusal, status_code=400)
            ref = secrets.token_hex(8)
            job = SmileJob(
                job_id=params["job_id"],
                user_id=params["user_id"],
                smile_job_id=str(secrets.randbelow(10**10)).zfill(10),
                callback_url=body.get("callback_url") or "",
            )
            sim.jobs[ref] = job
            return Response(
                {
                    "upload_url": f"{sim.base_url}/uploads/{ref}",
                    "ref_id": ref,
                    "smile_job_id": job.smile_job_id,
                    "camera_config": "null",
                    "code": "2202",
                }
            )

        @put("/uploads/{ref:str}", status_code=200)
        async def upload(ref: FromPath[str], request: Request[Any, Any, Any]) -> Response[Any]:
            job = sim.jobs.get(ref)
            if job is None or job.uploaded:
                return Response("<Error>AccessDenied</Error>", status_code=403)
            with zipfile.ZipFile(io.BytesIO(await request.body())) as archive:
                info = json.loads(archive.read("info.json"))
            images = [i for i in info["images"] if i["image_type_id"] == 3]
            misc = info["misc_information"]
            if not images or misc["partner_params"]["job_id"] != job.job_id:
                sim.refused.append("zip: no ID image or another job")
                return Response("<Error>BadZip</Error>", status_code=400)
            job.image = base64.b64decode(images[0]["image"])
            job.id_type = info["id_info"]["id_type"]
            job.country = info["id_info"]["country"]
            job.uploaded = True
            if not sim.completes:
                return Response("")
            job.result = sim.outcomes.get(job.user_id, sim.outcome)
            callback = sim.callback_for(job)
            if sim.delivery == "hold":
                sim.held.append(callback)
            elif sim.delivery == "post":
                return Response("", background=BackgroundTask(sim._post_callback, callback))
            return Response("")

        @post("/v1/job_status", status_code=200)
        async def job_status(request: Request[Any, Any, Any]) -> Response[Any]:
            body = await request.json()
            if not sim._our_signature(body, "partner_id"):
                sim.refused.append("job_status: bad signature")
                return Response({"code": "2205", "error": "You're not authorized"}, status_code=401)
            job = next((j for j in sim.jobs.values() if j.job_id == body.get("job_id")), None)
            if job is None or job.user_id != body.get("user_id"):
                return Response({"code": "2204", "error": "No job found"}, status_code=404)
            complete = job.result is not None
            return Response(
                {
                    "job_complete": complete,
                    "job_success": complete and job.result[0] in ("0810", "0816"),
                    "code": "2302",
                    "result": sim.result_body(job) if complete else "In Progress",
                    **sim.signed(),
                }
            )

        return Litestar([prep_upload, upload, job_status])
