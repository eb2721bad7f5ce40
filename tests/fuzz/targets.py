"""Fuzz targets: every parser of outside bytes, each with the errors it is allowed to raise.

A target takes the fuzzer's bytes and hands them to one parser the way the platform does.
The parser may refuse the input with its documented error (a `DataError` naming what is
wrong with a market-data file, a `SpecError` or msgspec validation error for a strategy,
`InvalidInput` for a provider's callback, a protocol error closing a WebSocket); anything
else escaping — an IndexError, a polars panic, a segfault in a kernel — is a bug the fuzzer
reports with the input that caused it. Targets that produce output also check it (sanitised
HTML carries no script; a sniffed type is one the platform knows).

`python -m tests.fuzz.run NAME` runs one under atheris (see `tests/fuzz/run.py`);
`tests/fuzz/test_fuzz.py` replays the seed corpus and runs each briefly in the test command.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser

import msgspec

TargetFunction = Callable[[bytes], None]


@cache
def _bars() -> object:
    """200 daily bars, built once: specs are run on them, not on fuzzed prices."""
    import numpy as np

    from engine.data import Bars

    steps = np.random.default_rng(7).normal(0.0, 1.0, 200).cumsum()
    close = 100.0 + steps
    high = close + 1.0
    low = close - 1.0
    return Bars.from_arrays(close, high, low, close)


def ohlcv_csv(data: bytes) -> None:
    from engine.data import DataError, load_csv

    try:
        frame = load_csv(data)
    except DataError:
        return
    assert frame.height > 0


def ohlcv_parquet(data: bytes) -> None:
    from engine.data import DataError, load_parquet

    try:
        frame = load_parquet(data)
    except DataError:
        return
    assert frame.height > 0


def strategy_spec(data: bytes) -> None:
    """Decode a spec as the API does, then run it: a spec that passes validation must run
    on any bars without crashing the kernel (an out-of-bounds read there is a segfault)."""
    from engine.runner import run_backtest
    from engine.strategy import ExecutionSettings, SpecError, load_spec

    try:
        spec = load_spec(data)
    except (SpecError, msgspec.DecodeError):
        return
    run_backtest(_bars(), spec, ExecutionSettings())  # type: ignore[arg-type]


class _TemplateRun(msgspec.Struct, frozen=True):
    template: str
    params: dict[str, float] = {}
    allow_short: bool = False


def strategy_template(data: bytes) -> None:
    """A template with parameters, as the backtests API and `dracarys backtest --param`
    build them: any number (1e308, a value JSON spells as 1e999) is a valid spec or a
    `SpecError`, and a valid spec runs."""
    from engine.runner import run_backtest
    from engine.strategy import TEMPLATES, ExecutionSettings, SpecBuilder, SpecError

    try:
        request = msgspec.json.decode(data, type=_TemplateRun)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return
    if request.template not in TEMPLATES:
        return
    try:
        spec = SpecBuilder(request.template, allow_short=request.allow_short).build(request.params)
    except (SpecError, msgspec.ValidationError):
        return
    run_backtest(_bars(), spec, ExecutionSettings())  # type: ignore[arg-type]


def stream_frame(data: bytes) -> None:
    """A client's WebSocket frame: decoded with the server's decoder, then the channel
    name parsed, as the server does before acting on it."""
    from streams.channels import InvalidChannel, parse_channel
    from streams.protocol import Subscribe, Unsubscribe, client_decoder

    text = data.decode("utf-8", "replace")  # as the server reads binary frames
    try:
        frame = client_decoder.decode(text)
    except msgspec.DecodeError:
        return
    if isinstance(frame, Subscribe | Unsubscribe):
        try:
            parse_channel(frame.channel)
        except InvalidChannel:
            return


STRIPE_TEST_SECRET = "whsec_fuzz"
STRIPE_SIGNED_AT = 1_767_225_600  # 2026-01-01T00:00:00Z


def stripe_webhook(data: bytes) -> None:
    """A Stripe webhook body. The first byte picks how it arrives: signed with our secret
    (to reach the event readers) or with the first line as its Stripe-Signature header.
    A verified event's object is read as each object type the platform knows."""
    import hashlib
    import hmac
    from datetime import UTC, datetime

    from dracarys.payments.stripe_gateway import (
        CheckoutSessionObject,
        DisputeObject,
        RefundObject,
        WebhookRejected,
        verify_webhook,
    )

    if not data:
        return
    body = data[1:]
    if data[0] % 2:
        header_bytes, _, body = body.partition(b"\n")
        header = header_bytes.decode("utf-8", "replace")
    else:
        signed = f"{STRIPE_SIGNED_AT}.".encode() + body
        digest = hmac.new(STRIPE_TEST_SECRET.encode(), signed, hashlib.sha256).hexdigest()
        header = f"t={STRIPE_SIGNED_AT},v1={digest}"
    now = datetime.fromtimestamp(STRIPE_SIGNED_AT + 10, UTC)
    try:
        event = verify_webhook(body, header, [STRIPE_TEST_SECRET], now=now)
    except WebhookRejected:
        return
    for shape in (CheckoutSessionObject, DisputeObject, RefundObject):
        try:
            event.object_as(shape)
        except WebhookRejected:
            continue


def daraja_callback(data: bytes) -> None:
    """A Daraja callback body, read as the webhooks read it: as an STK callback and as a
    B2C or status-query result, then everything the platform derives from them."""
    from dracarys.errors import InvalidInput
    from dracarys.payments.daraja import (
        b2c_paid_minor,
        read_result,
        read_stk_callback,
        transaction_status_answer,
    )

    try:
        body = msgspec.json.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return
    try:
        callback = read_stk_callback(body)
    except InvalidInput:
        pass
    else:
        paid = callback.paid_minor
        assert paid is None or 0 <= paid <= 10**15
        assert callback.receipt is None or isinstance(callback.receipt, str)
        assert isinstance(callback.succeeded, bool)
    try:
        result = read_result(body)
    except InvalidInput:
        return
    paid = b2c_paid_minor(result)
    assert paid is None or 0 <= paid <= 10**15
    answer = transaction_status_answer(result)
    assert answer.outcome in {"paid", "unpaid", "not_found", "unknown"}


def tradingview_alert(data: bytes) -> None:
    """A TradingView alert body, read as the alerts webhook reads it (JSON whatever the
    content type), then its de-duplication key: only a field-naming `InvalidInput` may
    refuse it."""
    from dracarys.errors import InvalidInput
    from dracarys.trading.alerts.service import dedupe_key, parse_alert

    try:
        body = msgspec.json.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return
    refused: InvalidInput | None = None
    try:
        alert = parse_alert(body)
    except InvalidInput as refusal:
        refused = refusal
    if refused is not None:
        assert refused.errors[0].field
        assert "$." not in refused.detail
        return
    assert alert.side.value in {"buy", "sell"}
    assert alert.price > 0
    assert len(dedupe_key(alert)) == 32


_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")


def _scheme_of(url: str | None) -> str | None:
    """The scheme a browser would see in `url` (WHATWG URL parsing strips leading C0
    controls and spaces and drops tabs and newlines anywhere); None for a relative URL."""
    if not url:
        return None
    cleaned = re.sub(r"[\t\n\r]", "", url).lstrip("".join(map(chr, range(33))))
    found = _SCHEME.match(cleaned)
    return found.group(1).lower() if found else None


class _ActiveContent(HTMLParser):
    """Collects what in rendered HTML could run or load something not allowed."""

    def __init__(self, allowed_tags: frozenset[str], schemes: frozenset[str]) -> None:
        super().__init__()
        self._allowed_tags = allowed_tags
        self._schemes = schemes
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self._allowed_tags:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{tag}[{name}]")
            scheme = _scheme_of(value) if name in {"href", "src"} else None
            if scheme is not None and scheme not in self._schemes:
                self.found.append(f"{tag}[{name}={(value or '')[:40]}]")


def lesson_markdown(data: bytes) -> None:
    """Lesson Markdown renders to HTML with only allowed tags, no event handlers and only
    allowed link schemes."""
    from dracarys.curriculum.rendering import ALLOWED_TAGS, URL_SCHEMES, render_markdown

    html = render_markdown(data.decode("utf-8", "replace"))
    checker = _ActiveContent(ALLOWED_TAGS, URL_SCHEMES)
    checker.feed(html)
    assert not checker.found, (checker.found, html[:500])


def file_type(data: bytes) -> None:
    """Sniffing never raises, and answers only with a type uploads know."""
    from dracarys.files import sniff_file_type

    found = sniff_file_type(data)
    assert found is None or found.content_type in {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "application/pdf",
    }


# Modules with Numba kernels. atheris instruments whole top-level packages, and Numba
# compiles from the (then instrumented) bytecode, so these are excluded; a module missing
# here fails the strategy target at once with a Numba typing error naming `_trace_branch`.
KERNEL_MODULES = (
    "engine.backtest",
    "engine.compile",
    "engine.curve",
    "engine.indicators",
    "engine.matching",
    "engine.metrics",
    "engine.sweep",
)


@dataclass(frozen=True)
class Target:
    run: TargetFunction
    # Our modules whose branches guide the fuzzer (atheris instruments their bytecode).
    # Never a module with Numba kernels: Numba compiles from that bytecode.
    modules: tuple[str, ...]


TARGETS: dict[str, Target] = {
    "ohlcv_csv": Target(ohlcv_csv, ("engine.data",)),
    "ohlcv_parquet": Target(ohlcv_parquet, ("engine.data",)),
    "strategy_spec": Target(strategy_spec, ("engine.strategy", "engine.runner")),
    "strategy_template": Target(strategy_template, ("engine.strategy", "engine.runner")),
    "stream_frame": Target(stream_frame, ("streams.protocol", "streams.channels")),
    "lesson_markdown": Target(
        lesson_markdown, ("dracarys.curriculum.rendering", "markdown_it", "mdurl")
    ),
    "file_type": Target(file_type, ("dracarys.files",)),
    "stripe_webhook": Target(stripe_webhook, ("dracarys.payments.stripe_gateway",)),
    "daraja_callback": Target(daraja_callback, ("dracarys.payments.daraja",)),
    "tradingview_alert": Target(tradingview_alert, ("dracarys.trading.alerts.service",)),
}
