"""Market data HTTP API under /api/v1/market-data: upload a dataset (multipart: the file
and its name, symbol, timeframe and visibility), list those I may use, read one.
Handlers call services only."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from dracarys.identity import CurrentUser, authenticated
from dracarys.marketdata import service
from dracarys.marketdata.models import Dataset, Timeframe, Visibility
from dracarys.platform import Platform

# The settings' largest upload (500 MB) and room for the form's other parts; the
# configured limit is enforced on the file itself by the service.
UPLOAD_MAX_BODY = 500_000_000 + 64 * 1024


@dataclass
class DatasetUploadForm:
    file: UploadFile
    symbol: str
    timeframe: Timeframe
    name: str = ""
    visibility: Visibility = "private"


class DatasetController(Controller):
    path = "/api/v1/market-data/datasets"
    tags = ["market data"]  # noqa: RUF012 (Litestar declares it as an instance attribute)
    guards = [authenticated]  # noqa: RUF012

    @post(
        "/",
        operation_id="uploadMarketData",
        status_code=HTTP_201_CREATED,
        request_max_body_size=UPLOAD_MAX_BODY,
        summary="Upload an OHLCV file (CSV or Parquet) for one symbol and timeframe",
    )
    async def upload(
        self,
        data: Annotated[DatasetUploadForm, Body(media_type=RequestEncodingType.MULTI_PART)],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> Dataset:
        content = await data.file.read()
        return await service.upload_dataset(
            platform,
            current_user,
            name=data.name or data.file.filename or "Untitled",
            symbol=data.symbol.strip().upper(),
            timeframe=data.timeframe,
            visibility=data.visibility,
            content=content,
        )

    @get("/", operation_id="listMarketData", summary="My datasets and the shared ones")
    async def list_datasets(
        self,
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        symbol: Annotated[str | None, QueryParameter()] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 100,
    ) -> list[Dataset]:
        return await service.list_datasets(platform, current_user, symbol, limit)

    @get("/{dataset_id:uuid}", operation_id="getMarketData", summary="One dataset")
    async def get_dataset(
        self,
        dataset_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> Dataset:
        return await service.readable_dataset(platform, current_user.id, dataset_id)


ROUTES: list[Any] = [DatasetController]
