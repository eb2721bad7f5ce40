"""The instruments registry's HTTP API: every instrument, and one by symbol."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from dracarys.identity import authenticated
from dracarys.platform import Platform
from dracarys.trading.instruments import service
from dracarys.trading.instruments.models import Instrument


class InstrumentController(Controller):
    path = "/api/v1/trading/instruments"
    tags = ["trading"]  # noqa: RUF012 (Litestar declares it as an instance attribute)
    guards = [authenticated]  # noqa: RUF012

    @get("/", operation_id="listInstruments", summary="Every instrument: class, ticks, lots, hours")
    async def list_instruments(self, platform: NamedDependency[Platform]) -> list[Instrument]:
        return await service.list_instruments(platform)

    @get("/{symbol:str}", operation_id="getInstrument", summary="One instrument by symbol")
    async def get_instrument(
        self, symbol: FromPath[str], platform: NamedDependency[Platform]
    ) -> Instrument:
        return await service.get_instrument(platform, symbol)


ROUTES: list[Any] = [InstrumentController]
