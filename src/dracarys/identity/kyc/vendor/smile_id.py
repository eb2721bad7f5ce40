"""Smile ID's document verification (job type 6) over httpx, in its server-to-server wire
format: a prep-upload request (`POST /v1/upload`) that returns where to put the job's zip
(an `info.json` and the images) and Smile ID's job id; the result posted to our callback
URL; the job-status query (`POST /v1/job_status`) for a callback that never came.

Every request, the callback and the status answer carry `timestamp` (ISO 8601) and
`signature` = base64(HMAC-SHA256(api key, timestamp + partner id + "sid_request")). The
signature covers no body field, so a callback is accepted only with a timestamp close to
our clock, and only for a job we submitted and have not closed (the service's dedupe)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec

from dracarys.errors import InvalidInput, ServiceUnavailable, Unauthorized
from dracarys.identity.kyc.vendor.models import VendorResult, VerificationJob
from dracarys.identity.models import KycVendorVerdict as Verdict
from dracarys.settings import Settings

VENDOR = "smile_id"
JOB_TYPE_DOCUMENT_VERIFICATION = 6
# Smile ID's image_type_id of an ID document's front sent as base64 in info.json.
IMAGE_ID_CARD_BASE64 = 3
UPLOAD_FILE_NAME = "selfie.zip"  # Smile ID's name for the job's zip, whatever it holds
SOURCE_SDK = "rest_api"
SOURCE_SDK_VERSION = "1.0.0"
_TIMEOUT = httpx.Timeout(20.0, connect=5.0)

# Document-verification result codes (ResultCode) that decide on their own. Any other
# code (provisional results, "unable to verify", codes this table does not know) is
# unclear and goes to a reviewer: an unfamiliar code can never decide a document.
VERIFIED_CODES = frozenset({"0810", "0816"})  # verified by machine / by Smile's reviewer
REJECTED_CODES = frozenset({"0812", "0813", "0815"})  # fraud signs, data mismatch, refused


class SmileIdError(ServiceUnavailable):
    """Smile ID refused the request or could not be reached."""


# ---- wire format ---------------------------------------------------------------------


class PartnerParams(msgspec.Struct, kw_only=True):
    job_id: str
    user_id: str
    job_type: int = JOB_TYPE_DOCUMENT_VERIFICATION


class PrepUploadRequest(msgspec.Struct, kw_only=True):
    callback_url: str
    file_name: str
    model_parameters: dict[str, Any]
    partner_params: PartnerParams
    signature: str
    smile_client_id: str
    source_sdk: str
    source_sdk_version: str
    timestamp: str


class PrepUploadResponse(msgspec.Struct, kw_only=True):
    upload_url: str
    smile_job_id: str
    ref_id: str | None = None
    code: str | None = None


class IdInfo(msgspec.Struct, kw_only=True):
    country: str
    id_type: str


class UploadImage(msgspec.Struct, kw_only=True):
    image_type_id: int
    image: str
    file_name: str = ""


class ApiVersion(msgspec.Struct, kw_only=True):
    buildNumber: int = 0
    majorVersion: int = 2
    minorVersion: int = 0


class PackageInformation(msgspec.Struct, kw_only=True):
    apiVersion: ApiVersion
    language: str = "python"


class MiscInformation(msgspec.Struct, kw_only=True):
    retry: str
    partner_params: PartnerParams
    timestamp: str
    signature: str
    file_name: str
    smile_client_id: str
    callback_url: str


class UploadInfo(msgspec.Struct, kw_only=True):
    """`info.json`, the manifest inside the job's zip."""

    package_information: PackageInformation
    misc_information: MiscInformation
    id_info: IdInfo
    images: list[UploadImage]
    server_information: PrepUploadResponse


class JobStatusRequest(msgspec.Struct, kw_only=True):
    signature: str
    timestamp: str
    partner_id: str
    user_id: str
    job_id: str
    image_links: bool = False
    history: bool = False


class JobResult(msgspec.Struct, kw_only=True):
    """The result of a job: the callback's body and a completed status answer's
    `result` (Smile ID's capitalised names)."""

    ResultCode: str
    ResultText: str = ""
    SmileJobID: str | None = None
    PartnerParams: PartnerParams | None = None
    Actions: dict[str, str] = {}
    signature: str | None = None
    timestamp: str | None = None


class JobStatusResponse(msgspec.Struct, kw_only=True):
    signature: str
    timestamp: str
    job_complete: bool
    job_success: bool = False
    code: str | None = None
    result: JobResult | str | None = None


# ---- signatures ----------------------------------------------------------------------


def sign(partner_id: str, api_key: str, timestamp: str) -> str:
    digest = hmac.new(
        api_key.encode(), (timestamp + partner_id + "sid_request").encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


def signature_matches(partner_id: str, api_key: str, timestamp: str, signature: str) -> bool:
    return hmac.compare_digest(sign(partner_id, api_key, timestamp), signature)


def _parse_timestamp(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def verdict_of(result: JobResult) -> Verdict:
    """A clear ResultCode decides; a verified code also needs the document check itself
    not to have failed (`Actions.Verify_Document`, when Smile ID sends it)."""
    if result.ResultCode in VERIFIED_CODES:
        check = result.Actions.get("Verify_Document", "Passed")
        return "verified" if check == "Passed" else "unclear"
    if result.ResultCode in REJECTED_CODES:
        return "rejected"
    return "unclear"


# ---- the adapter ---------------------------------------------------------------------


class SmileIdVerifier:
    """`DocumentVerifier` for Smile ID, configured by `smile_id_*` settings."""

    name = VENDOR

    def __init__(self, settings: Settings) -> None:
        self.partner_id = settings.smile_id_partner_id
        self.api_key = settings.smile_id_api_key
        self.base_url = settings.smile_id_base_url.rstrip("/")
        self.callback_url = settings.smile_id_callback_url
        self.callback_max_age = timedelta(seconds=settings.smile_id_callback_max_age_s)

    def _signed(self) -> tuple[str, str]:
        timestamp = datetime.now(UTC).isoformat()
        return timestamp, sign(self.partner_id, self.api_key, timestamp)

    async def submit(self, job: VerificationJob) -> str:
        timestamp, signature = self._signed()
        params = PartnerParams(job_id=job.job_id, user_id=job.user_id)
        prep = PrepUploadRequest(
            callback_url=self.callback_url,
            file_name=UPLOAD_FILE_NAME,
            model_parameters={},
            partner_params=params,
            signature=signature,
            smile_client_id=self.partner_id,
            source_sdk=SOURCE_SDK,
            source_sdk_version=SOURCE_SDK_VERSION,
            timestamp=timestamp,
        )
        async with httpx.AsyncClient(timeout=_TIMEOUT) as http:
            try:
                answer = await http.post(
                    f"{self.base_url}/v1/upload",
                    content=msgspec.json.encode(prep),
                    headers={"Content-Type": "application/json"},
                )
            except httpx.HTTPError as exc:
                raise SmileIdError(f"Smile ID could not be reached: {exc}") from exc
            if answer.status_code != 200:
                raise SmileIdError(f"Smile ID refused the job ({answer.status_code})")
            server = msgspec.json.decode(answer.content, type=PrepUploadResponse)
            info = UploadInfo(
                package_information=PackageInformation(apiVersion=ApiVersion()),
                misc_information=MiscInformation(
                    retry="false",
                    partner_params=params,
                    timestamp=timestamp,
                    signature=signature,
                    file_name=UPLOAD_FILE_NAME,
                    smile_client_id=self.partner_id,
                    callback_url=self.callback_url,
                ),
                id_info=IdInfo(country=job.country, id_type=job.id_type),
                images=[
                    UploadImage(
                        image_type_id=IMAGE_ID_CARD_BASE64,
                        image=base64.b64encode(job.image).decode(),
                    )
                ],
                server_information=server,
            )
            try:
                uploaded = await http.put(
                    server.upload_url,
                    content=_zip_of(info),
                    headers={"Content-Type": "application/zip"},
                )
            except httpx.HTTPError as exc:
                raise SmileIdError(f"The job's images could not be uploaded: {exc}") from exc
            if uploaded.status_code not in (200, 201, 204):
                raise SmileIdError(f"The job's upload was refused ({uploaded.status_code})")
        return server.smile_job_id

    async def job_status(self, *, job_id: str, user_id: str) -> VendorResult | None:
        timestamp, signature = self._signed()
        query = JobStatusRequest(
            signature=signature,
            timestamp=timestamp,
            partner_id=self.partner_id,
            user_id=user_id,
            job_id=job_id,
        )
        async with httpx.AsyncClient(timeout=_TIMEOUT) as http:
            try:
                answer = await http.post(
                    f"{self.base_url}/v1/job_status",
                    content=msgspec.json.encode(query),
                    headers={"Content-Type": "application/json"},
                )
            except httpx.HTTPError as exc:
                raise SmileIdError(f"Smile ID could not be reached: {exc}") from exc
        if answer.status_code != 200:
            raise SmileIdError(f"Smile ID refused the status query ({answer.status_code})")
        status = msgspec.json.decode(answer.content, type=JobStatusResponse)
        if not signature_matches(self.partner_id, self.api_key, status.timestamp, status.signature):
            raise SmileIdError("Smile ID's status answer is not signed with our key")
        if not status.job_complete or not isinstance(status.result, JobResult):
            return None
        return _vendor_result(job_id, status.result)

    def read_callback(self, body: bytes, now: datetime) -> VendorResult:
        try:
            result = msgspec.json.decode(body, type=JobResult)
        except msgspec.ValidationError as exc:
            raise InvalidInput(f"This is not a Smile ID result: {exc}", field="body") from None
        if result.signature is None or result.timestamp is None:
            raise Unauthorized("The callback is not signed.", field="signature")
        if not signature_matches(self.partner_id, self.api_key, result.timestamp, result.signature):
            raise Unauthorized("The callback's signature does not match.", field="signature")
        signed_at = _parse_timestamp(result.timestamp)
        if signed_at is None or abs(now - signed_at) > self.callback_max_age:
            raise Unauthorized("The callback's timestamp is not recent.", field="timestamp")
        if result.PartnerParams is None:
            raise InvalidInput("The callback names no job.", field="PartnerParams")
        return _vendor_result(result.PartnerParams.job_id, result)


def _vendor_result(job_id: str, result: JobResult) -> VendorResult:
    return VendorResult(
        job_id=job_id,
        vendor_job_id=result.SmileJobID,
        result_code=result.ResultCode,
        result_text=result.ResultText,
        verdict=verdict_of(result),
    )


def _zip_of(info: UploadInfo) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("info.json", msgspec.json.encode(info))
    return buffer.getvalue()


def configured_verifier(settings: Settings) -> SmileIdVerifier | None:
    """The Smile ID adapter when partner id, API key and callback URL are all set; None
    otherwise (reviewers then decide every document)."""
    needed = (
        settings.smile_id_partner_id,
        settings.smile_id_api_key,
        settings.smile_id_callback_url,
    )
    return SmileIdVerifier(settings) if all(needed) else None
