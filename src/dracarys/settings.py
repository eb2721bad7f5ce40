"""The one settings object: read from `DRACARYS_*` (plus `DATABASE_URL`, `REDIS_URL`) and
validated once at start, so a bad value stops the process with a message naming it.

Every field of `Settings` is read from `DRACARYS_<FIELD NAME IN UPPER CASE>`; adding a
setting is adding a field (with a `Meta` constraint where a range matters)."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import msgspec
import platformdirs
import pycountry

Environment = Literal["development", "test", "production"]
LogFormat = Literal["json", "console"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
DEFAULT_DATA_DIR = platformdirs.user_data_dir("dracarys")
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
# An S3 bucket's name (empty: none), and the safe characters of an object key's prefix.
_BUCKET = r"^([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])?$"
_KEY_PREFIX = r"^[A-Za-z0-9!_.*'()/-]{0,512}$"


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str | None = None
    redis_url: str | None = None
    # Prefix of every Redis key, stream and channel, so several deployments (or test
    # runs) can share one Redis.
    redis_prefix: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9_:-]{1,64}$")] = "dracarys"
    env: Environment = "development"
    host: str = "127.0.0.1"
    port: Port = 8000
    public_url: str = "http://127.0.0.1:8000"
    data_dir: str = DEFAULT_DATA_DIR
    # Where the nightly analytics export writes its Hive-partitioned Parquet files: a local
    # folder (empty: <data_dir>/warehouse), or, once a bucket is named, any S3-compatible
    # bucket (AWS S3, MinIO, Cloudflare R2, GCS's XML API) under `warehouse_s3_prefix`.
    # The endpoint is for services other than AWS; the keys, when empty, come from the
    # usual AWS environment or instance role.
    warehouse_dir: str = ""
    warehouse_s3_bucket: Annotated[str, msgspec.Meta(pattern=_BUCKET)] = ""
    warehouse_s3_prefix: Annotated[str, msgspec.Meta(pattern=_KEY_PREFIX)] = ""
    warehouse_s3_endpoint: str = ""
    warehouse_s3_region: str = ""
    warehouse_s3_access_key_id: str = ""
    warehouse_s3_secret_access_key: str = ""
    secret_key: Annotated[str, msgspec.Meta(min_length=32)] = ""
    allowed_origins: tuple[str, ...] = ("http://127.0.0.1:8000", "http://localhost:8000")
    # Other sites whose browser pages may call the API (CORS); empty: same origin only.
    cors_origins: tuple[str, ...] = ()
    log_level: LogLevel = "INFO"
    log_format: LogFormat = "json"
    db_pool_min_size: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 2
    db_pool_max_size: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 20
    outbox_batch_size: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 500
    outbox_poll_interval_s: Annotated[float, msgspec.Meta(gt=0, le=60)] = 0.5
    # An event handed to the queue whose consumers have not all committed this long after
    # is handed over again (the wait doubles with each attempt, up to an hour).
    outbox_redeliver_after_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 60.0
    seed_demo: bool = True
    # How long a stopping process (SIGTERM or Ctrl+C) lets in-flight requests, running
    # tasks and the paper engine's current tick finish before abandoning them; a task
    # abandoned then goes back on the queue.
    shutdown_grace_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 15.0
    # Real-time streams (/api/v1/stream): history kept per channel for resume, and the
    # limits every connection lives under (see streams/server.py).
    stream_history_size: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] = 1000
    stream_history_ttl_s: Annotated[int, msgspec.Meta(ge=0)] = 7 * 24 * 3600
    stream_send_queue_frames: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 1024
    stream_send_queue_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 4 * 1024 * 1024
    stream_max_frame_bytes: Annotated[int, msgspec.Meta(ge=64, le=1024 * 1024)] = 4096
    stream_messages_per_s: Annotated[float, msgspec.Meta(gt=0)] = 20.0
    stream_heartbeat_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 15.0
    stream_idle_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 45.0
    stream_auth_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=600)] = 10.0
    # How often sessions are checked for expiry and revocation (must stay under 5 s).
    stream_session_check_s: Annotated[float, msgspec.Meta(gt=0, le=5)] = 1.0
    stream_max_channels: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 64
    # How often open subscriptions whose access can end (paid feeds, shared portfolios)
    # are re-checked: one query per watched channel.
    stream_reauthorize_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 5.0
    # Wallet and payments (see dracarys.wallet). Stripe: secret API key, webhook signing
    # secrets (comma-separated; several during a rotation), API base (tests point it at a
    # local simulator). M-Pesa Daraja: app credentials, STK shortcode and passkey, B2C
    # initiator, and the secret token carried in the callback URLs' path.
    stripe_api_key: str = ""
    stripe_webhook_secrets: str = ""
    stripe_api_base: str = "https://api.stripe.com"
    daraja_base_url: str = "https://sandbox.safaricom.co.ke"
    daraja_consumer_key: str = ""
    daraja_consumer_secret: str = ""
    daraja_shortcode: str = "174379"
    daraja_passkey: str = ""
    daraja_b2c_shortcode: str = "600000"
    daraja_b2c_initiator: str = ""
    daraja_b2c_security_credential: str = ""
    daraja_callback_token: str = ""
    # KYC by Smile ID (see dracarys.identity.kyc.vendor): document verification is off
    # unless a partner id, an API key and the callback URL are all set; reviewers then
    # decide every document as before. The result arrives at the callback URL (our
    # /api/v1/webhooks/smile-id); a job without one is asked about after
    # `smile_id_status_query_after_s` and handed to reviewers after
    # `smile_id_result_deadline_s`. A callback whose signed timestamp is further than
    # `smile_id_callback_max_age_s` from our clock is refused.
    smile_id_partner_id: str = ""
    smile_id_api_key: str = ""
    smile_id_base_url: str = "https://testapi.smileidentity.com"
    smile_id_callback_url: str = ""
    smile_id_country: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$")] = "KE"
    smile_id_callback_max_age_s: Annotated[int, msgspec.Meta(ge=10, le=86_400)] = 300
    smile_id_status_query_after_s: Annotated[int, msgspec.Meta(ge=10, le=86_400)] = 600
    smile_id_result_deadline_s: Annotated[int, msgspec.Meta(ge=60, le=604_800)] = 86_400
    # The payments sandbox: local stand-ins for Stripe and M-Pesa Daraja (their wire
    # formats and signatures, a hosted checkout page, a phone page that approves or
    # declines STK pushes; no real money moves), served under /sandbox/ by `dracarys up`.
    # "auto": `dracarys up` runs it outside production when no payment provider setting
    # above is set; "off": never. `dracarys up` records "on" in the settings it runs with
    # (the API reports the sandbox payment mode from it); the environment cannot set it.
    payments_sandbox: Literal["auto", "on", "off"] = "auto"
    # VAT per country as CC:basis-points pairs; Kenya 16%.
    wallet_vat_rates: Annotated[str, msgspec.Meta(pattern=r"^([A-Z]{2}:[0-9]{1,4},?)*$")] = (
        "KE:1600"
    )
    # The platform's home country: the VAT country of a buyer whose profile names no
    # country and who has no verified phone number.
    wallet_home_country: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$")] = "KE"
    wallet_step_up_kes_minor: Annotated[int, msgspec.Meta(ge=0)] = 5_000_000
    wallet_step_up_usd_minor: Annotated[int, msgspec.Meta(ge=0)] = 50_000
    wallet_daily_withdraw_kes_minor: Annotated[int, msgspec.Meta(ge=0)] = 30_000_000
    wallet_daily_withdraw_usd_minor: Annotated[int, msgspec.Meta(ge=0)] = 300_000
    wallet_payout_minimum_kes_minor: Annotated[int, msgspec.Meta(ge=1)] = 100_000
    wallet_payout_minimum_usd_minor: Annotated[int, msgspec.Meta(ge=1)] = 1_000
    wallet_payout_max_attempts: Annotated[int, msgspec.Meta(ge=1, le=50)] = 5
    # An M-Pesa payout with no result this long after its request went out is asked about
    # with Daraja's transaction-status query, and again after each such interval; still
    # unknown after `wallet_payout_status_queries` questions, it is held for an admin.
    wallet_payout_reconcile_after_s: Annotated[int, msgspec.Meta(ge=1, le=7 * 86_400)] = 600
    wallet_payout_status_queries: Annotated[int, msgspec.Meta(ge=1, le=100)] = 3
    wallet_escrow_auto_release_hours: Annotated[int, msgspec.Meta(ge=1, le=24 * 90)] = 72
    wallet_mentor_share_bps: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 7_000
    wallet_holdback_bps: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 1_000
    wallet_holdback_days: Annotated[int, msgspec.Meta(ge=0, le=365)] = 30
    wallet_mentor_bonus_kes_minor: Annotated[int, msgspec.Meta(ge=0)] = 500_000
    # Identity: refresh-token lifetime and sign-in throttling, failures per window: from
    # one source on one account (a device the account signed in from before, else the
    # IP), on one account from all sources it never signed in from, from one IP across
    # accounts, and wrong second-factor codes (login and step-up) per account.
    refresh_token_ttl_days: Annotated[int, msgspec.Meta(ge=1, le=365)] = 30
    login_failure_window_s: Annotated[int, msgspec.Meta(ge=1, le=86_400)] = 900
    login_max_failures_per_source: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 5
    login_max_failures_per_account: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 50
    login_max_failures_per_ip: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 20
    two_factor_max_failures: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 5
    # Verification e-mails re-sent and SMS codes sent, per hour, per account and per IP.
    verification_sends_per_hour_per_account: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 5
    verification_sends_per_hour_per_ip: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 20
    # API requests per minute per client (the signed-in user, else the source IP); probes,
    # metrics and static files are not counted.
    rate_limit_per_minute: Annotated[int, msgspec.Meta(ge=1)] = 1200
    # TradingView alerts in: per mentor per minute; an alert with the same `alert_id` (or,
    # without one, the same payload) as a broadcast within the window is a duplicate; an
    # alert whose own time is older than the max age is refused as stale.
    alerts_per_minute: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 30
    alert_dedupe_window_s: Annotated[int, msgspec.Meta(ge=1, le=7 * 86_400)] = 3600
    alert_max_age_s: Annotated[int, msgspec.Meta(ge=1, le=86_400)] = 300
    # Proxies whose X-Forwarded-For names the client (IPs or networks, "*" for any);
    # empty: the connecting address is the client.
    trusted_proxies: tuple[str, ...] = ()
    # How long an API process trusts its cached copy of a login session (live, role,
    # two-factor) when a pushed change was lost; 0 reads the database on every request.
    session_cache_ttl_s: Annotated[float, msgspec.Meta(ge=0, le=5)] = 5.0
    # KYC documents: upload limit, and the AES-256-GCM key (base64 of 32 bytes). Empty
    # derives a key from the secret key (fine for development; set it in production).
    kyc_max_upload_bytes: Annotated[int, msgspec.Meta(ge=1024, le=50_000_000)] = 10_000_000
    kyc_encryption_key: str = ""
    # Where e-mail and SMS go: "providers" (the SMTP server and SMS gateway below) or
    # "files" (written under <data_dir>/outbound/ instead). The embedded mode (no
    # DATABASE_URL) defaults to "files", so a first run can read its mail.
    outbound: Literal["providers", "files"] = "providers"
    # Outgoing mail (SMTP). smtp_security: none | starttls | tls.
    smtp_host: str = "127.0.0.1"
    smtp_port: Port = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    mail_from: str = "Dracarys <no-reply@dracarys.local>"
    # The mail provider's webhook signing secret (bounces and complaints). Empty: the
    # webhook refuses every post.
    mail_webhook_secret: str = ""
    # SMS gateway (Africa's Talking messaging API wire format). Empty URL: SMS disabled.
    sms_api_url: str = ""
    sms_username: str = ""
    sms_api_key: str = ""
    sms_sender_id: str = ""
    # OAuth/OIDC sign-in; a provider is enabled when its client id is set.
    google_issuer: str = "https://accounts.google.com"
    google_client_id: str = ""
    google_client_secret: str = ""
    apple_issuer: str = "https://appleid.apple.com"
    apple_client_id: str = ""
    apple_client_secret: str = ""
    # Social verification (see dracarys.social.verification). Our accounts; the OAuth
    # clients of the platforms whose APIs can check a follow (YouTube needs its client and
    # our channel id, X its client and our account's user id; a platform without them, and
    # Instagram and TikTok always, is verified by a proof a reviewer approves); the
    # providers' endpoints (tests point them at a local simulator); how often a verified
    # follow is checked again; and the largest screenshot a proof may carry. The social
    # sandbox (local stand-ins for Google's and X's OAuth and APIs, served under
    # /sandbox/social by `dracarys up`) follows the payments sandbox's rule: "auto" runs
    # it outside production when no social OAuth client is set; `dracarys up` records "on".
    social_youtube_channel_id: str = ""
    social_youtube_url: str = "https://www.youtube.com/@dracarys"
    social_x_user_id: str = ""
    social_x_handle: str = "dracarys"
    social_instagram_handle: str = "dracarys"
    social_tiktok_handle: str = "dracarys"
    social_youtube_client_id: str = ""
    social_youtube_client_secret: str = ""
    social_google_auth_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    social_google_token_url: str = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL
    social_youtube_api_base: str = "https://www.googleapis.com/youtube/v3"
    social_x_client_id: str = ""
    social_x_client_secret: str = ""
    social_x_authorize_url: str = "https://twitter.com/i/oauth2/authorize"
    social_x_api_base: str = "https://api.x.com"
    social_recheck_hours: Annotated[int, msgspec.Meta(ge=1, le=24 * 30)] = 24
    social_proof_max_bytes: Annotated[int, msgspec.Meta(ge=1024, le=20_000_000)] = 5_000_000
    social_sandbox: Literal["auto", "on", "off"] = "auto"
    # Mentorship and curriculum (see dracarys.mentorship, dracarys.curriculum): a mentee
    # who cancels at least `mentorship_full_refund_hours` ahead gets everything back, later
    # `mentorship_late_refund_bps` of it; video rooms live under `jitsi_base_url`.
    mentorship_full_refund_hours: Annotated[int, msgspec.Meta(ge=0, le=24 * 30)] = 24
    mentorship_late_refund_bps: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 5_000
    mentorship_slot_horizon_days: Annotated[int, msgspec.Meta(ge=1, le=366)] = 90
    jitsi_base_url: str = "https://meet.jit.si"
    curriculum_upload_max_bytes: Annotated[int, msgspec.Meta(ge=1024, le=50_000_000)] = 5_000_000
    # Social sharing (see dracarys.social.sharing): distinct signed-in visitors other than
    # the sharer (and not from the sharer's network) a share link needs to earn its points.
    social_share_qualifying_visitors: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 3
    # Chat (see dracarys.notifications.chat): attachment size, messages a member may send
    # per minute, first-message requests a mentee may send per day.
    chat_attachment_max_bytes: Annotated[int, msgspec.Meta(ge=1024, le=25_000_000)] = 5_000_000
    chat_messages_per_minute: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 30
    chat_requests_per_day: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 5
    # Points economy (see dracarys.points): caps, pending window, expiry, tiers, abuse.
    points_social_email_daily_cap: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] = 500
    points_pending_window_days: Annotated[int, msgspec.Meta(ge=0, le=365)] = 14
    points_expiry_months: Annotated[int, msgspec.Meta(ge=1, le=120)] = 12
    points_expiry_login_grace_days: Annotated[int, msgspec.Meta(ge=0, le=3650)] = 90
    points_tier_window_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 365
    points_tier_silver: Annotated[int, msgspec.Meta(ge=1)] = 1_000
    points_tier_gold: Annotated[int, msgspec.Meta(ge=1)] = 5_000
    points_tier_legend: Annotated[int, msgspec.Meta(ge=1)] = 20_000
    points_velocity_limit: Annotated[int, msgspec.Meta(ge=1)] = 5_000
    points_velocity_window_minutes: Annotated[int, msgspec.Meta(ge=1, le=10_080)] = 10
    points_cluster_min_accounts: Annotated[int, msgspec.Meta(ge=2, le=1000)] = 3
    points_redemption_hold_days: Annotated[int, msgspec.Meta(ge=0, le=365)] = 30
    points_minor_units_per_point: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 1
    points_currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")] = "KES"
    points_rules_cache_s: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 5.0
    # Section-14 e-mails on awards (lessons, assessments, follows, sign-up, money awards).
    points_email_on_award: bool = True
    # Referrals (see dracarys.social.referrals): how long after a visit of a referral
    # link a sign-up is credited to it (the cookie lives as long).
    referral_attribution_days: Annotated[int, msgspec.Meta(ge=1, le=365)] = 30
    # Affiliates' default terms (an admin may set others on approval): this share of the
    # platform's fee on each payment of a referred member, for this many months after
    # their sign-up; a commission becomes payable this many days after the payment.
    affiliate_share_bps: Annotated[int, msgspec.Meta(ge=1, le=5_000)] = 2_000
    affiliate_months: Annotated[int, msgspec.Meta(ge=1, le=60)] = 12
    affiliate_refund_window_days: Annotated[int, msgspec.Meta(ge=0, le=365)] = 14
    # Paper trading (see dracarys.trading): leverage cap of non-novice accounts, the
    # embedded mode's market feed (replay of data/sample_daily.csv, synthetic, or off),
    # its speed in market seconds per wall second (86,400 = one trading day a second),
    # and how many ticks pass between leaderboard recomputations.
    trading_max_leverage: Annotated[float, msgspec.Meta(ge=1, le=100)] = 4.0
    trading_feed: Literal["replay", "synthetic", "off"] = "replay"
    trading_replay_speed: Annotated[float, msgspec.Meta(gt=0)] = 86_400.0
    trading_leaderboard_every_ticks: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 30
    # Whether `up`, `serve` and `worker` warm the engine's on-disk Numba cache in a
    # low-priority child process as they start (skipped when already warm), so the first
    # backtest after an install or upgrade does not spend seconds compiling kernels.
    engine_warmup: Literal["background", "off"] = "background"
    # External brokers (see dracarys.trading.brokers): off unless enabled. A mentee at KYC
    # level 2 who links an Alpaca account and opts in has mirrored signals routed there
    # (after the paper risk checks); the trading API base and its trade-updates stream
    # (paper by default), how often open routed orders are asked about when the stream
    # is quiet or down, and the bound of each call to the broker.
    external_brokers_enabled: bool = False
    alpaca_base_url: str = "https://paper-api.alpaca.markets"
    alpaca_stream_url: str = "wss://paper-api.alpaca.markets/stream"
    broker_fill_poll_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 15.0
    broker_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=120)] = 10.0
    # Distributed sweeps: a platform sweep is cut into chunks of this many combinations,
    # which any worker process runs; a chunk's lease lasts this long and is renewed while
    # its worker computes, so a chunk whose worker died runs again elsewhere after it.
    backtest_chunk_evaluations: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 25
    backtest_chunk_lease_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 60.0
    # Market data uploads (see dracarys.marketdata): the largest CSV or Parquet file taken.
    market_data_max_upload_bytes: Annotated[int, msgspec.Meta(ge=1024, le=500_000_000)] = 20_000_000

    def __repr__(self) -> str:
        shown = {
            f: ("***" if f in _SECRET_FIELDS and getattr(self, f) else getattr(self, f))
            for f in self.__struct_fields__
            if f != "secret_key"
        }
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in shown.items())}, secret_key=***)"

    @property
    def embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def uses_redis(self) -> bool:
        return self.redis_url is not None

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser()

    @property
    def warehouse_path(self) -> Path:
        return (
            Path(self.warehouse_dir).expanduser()
            if self.warehouse_dir
            else (self.data_path / "warehouse")
        )


_SECRET_FIELDS = frozenset(
    {
        "smtp_password",
        "warehouse_s3_secret_access_key",
        "mail_webhook_secret",
        "sms_api_key",
        "google_client_secret",
        "apple_client_secret",
        "kyc_encryption_key",
        "social_youtube_client_secret",
        "social_x_client_secret",
    }
)
_PREFIX = "DRACARYS_"
_UNPREFIXED = {"database_url": "DATABASE_URL", "redis_url": "REDIS_URL"}
_URL_SCHEMES: dict[str, tuple[str, ...]] = {
    "database_url": ("postgres", "postgresql"),
    "redis_url": ("redis", "rediss", "unix"),
    "public_url": ("http", "https"),
    "smile_id_base_url": ("http", "https"),
    "smile_id_callback_url": ("http", "https"),
    "warehouse_s3_endpoint": ("http", "https"),
}


def env_var_name(field: str) -> str:
    return _UNPREFIXED.get(field, _PREFIX + field.upper())


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build and validate settings from the environment (or the mapping given)."""
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    for info in msgspec.structs.fields(Settings):
        value = env.get(env_var_name(info.name), "").strip()
        if value:
            raw[info.name] = value

    for field, schemes in _URL_SCHEMES.items():
        if field in raw:
            _check_url(field, raw[field], schemes)
    key_id, key = "warehouse_s3_access_key_id", "warehouse_s3_secret_access_key"
    if (key_id in raw) != (key in raw):
        missing = key if key_id in raw else key_id
        raise SettingsError(f"{env_var_name(missing)} is needed with the other warehouse key")
    for field in ("allowed_origins", "cors_origins"):
        if field in raw:
            raw[field] = _parse_origins(field, raw[field])
    if "trusted_proxies" in raw:
        raw["trusted_proxies"] = _parse_networks("trusted_proxies", raw["trusted_proxies"])
    if "log_level" in raw:
        raw["log_level"] = raw["log_level"].upper()
    if "secret_key" not in raw:
        if raw.get("env") == "production":
            raise SettingsError("DRACARYS_SECRET_KEY is required when DRACARYS_ENV=production")
        raw["secret_key"] = _development_secret(Path(raw.get("data_dir", DEFAULT_DATA_DIR)))
    if raw.get("payments_sandbox", "").lower() == "on":
        raise SettingsError(
            "DRACARYS_PAYMENTS_SANDBOX=on is what `dracarys up` records when it runs the "
            "payments sandbox; set auto (the default) or off"
        )
    if raw.get("social_sandbox", "").lower() == "on":
        raise SettingsError(
            "DRACARYS_SOCIAL_SANDBOX=on is what `dracarys up` records when it runs the "
            "social sandbox; set auto (the default) or off"
        )
    if "outbound" not in raw and "database_url" not in raw:
        # The embedded mode needs nothing installed: no mail server or SMS gateway either.
        raw["outbound"] = "files"

    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(_name_the_variable(str(exc), raw)) from None
    settings = _with_derived_origins(settings, explicit=raw.keys())
    if pycountry.countries.get(alpha_2=settings.wallet_home_country) is None:
        raise SettingsError(
            f"DRACARYS_WALLET_HOME_COUNTRY={settings.wallet_home_country!r} is not an "
            "ISO 3166-1 country code (e.g. KE)"
        )
    if settings.db_pool_min_size > settings.db_pool_max_size:
        raise SettingsError(
            f"DRACARYS_DB_POOL_MIN_SIZE={settings.db_pool_min_size} exceeds "
            f"DRACARYS_DB_POOL_MAX_SIZE={settings.db_pool_max_size}"
        )
    return settings


def _name_the_variable(message: str, raw: Mapping[str, Any]) -> str:
    match = re.search(r"at `\$\.(\w+)", message)
    if match is None:
        return f"invalid settings: {message}"
    field = match.group(1)
    reason = message.split(" - at ")[0]
    shown = "(hidden)" if field == "secret_key" else repr(raw.get(field))
    return f"{env_var_name(field)}={shown} is invalid: {reason}"


def _with_derived_origins(settings: Settings, explicit: Iterable[str]) -> Settings:
    """Unless set explicitly, the public URL follows the host and port, and the allowed
    browser origins are the public URL plus its loopback spellings, so the dashboard on
    `dracarys up --port N` can open its WebSocket without further settings."""
    given = set(explicit)
    changes: dict[str, Any] = {}
    public_url = settings.public_url
    if "public_url" not in given:
        host = "127.0.0.1" if settings.host in {"0.0.0.0", "::"} else settings.host  # noqa: S104
        public_url = changes["public_url"] = f"http://{host}:{settings.port}"
    if "allowed_origins" not in given:
        loopback = (f"http://127.0.0.1:{settings.port}", f"http://localhost:{settings.port}")
        changes["allowed_origins"] = tuple(dict.fromkeys((public_url, *loopback)))
    return msgspec.structs.replace(settings, **changes) if changes else settings


def _check_url(field: str, value: str, schemes: tuple[str, ...]) -> None:
    name = env_var_name(field)
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        raise SettingsError(f"{name}={value!r} must start with one of: {', '.join(schemes)}://")
    if parts.scheme != "unix" and not parts.hostname and "host=" not in parts.query:
        raise SettingsError(f"{name}={value!r} names no host")


def _parse_origins(field: str, value: str) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip("/") for o in value.split(",") if o.strip())
    for origin in origins:
        if urlsplit(origin).scheme not in {"http", "https"}:
            raise SettingsError(
                f"{env_var_name(field)} holds {origin!r}, which is not an http(s) origin"
            )
    return origins


def _parse_networks(field: str, value: str) -> tuple[str, ...]:
    networks = tuple(n.strip() for n in value.split(",") if n.strip())
    for network in networks:
        if network == "*":
            continue
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise SettingsError(
                f"{env_var_name(field)} holds {network!r}, which is not an IP address or network"
            ) from None
    return networks


def _development_secret(data_dir: Path) -> str:
    """Outside production a missing secret is generated once and kept in the data dir,
    so sessions survive a restart of the embedded platform."""
    path = data_dir.expanduser() / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key
