"""Search route: full-text search over the posts of the spaces you may read."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter

from dracarys.community.search import service
from dracarys.community.search.models import SearchHitView
from dracarys.identity import CurrentUser, authenticated
from dracarys.platform import Platform


class SearchController(Controller):
    path = "/api/v1/community"
    tags = ("community",)
    guards = [authenticated]  # noqa: RUF012 - Litestar's declared controller attribute

    @get(
        "/search",
        operation_id="searchCommunity",
        summary='Posts matching words or a "phrase" (-word excludes), best first',
    )
    async def search(
        self,
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        q: Annotated[str, QueryParameter(min_length=1, max_length=200)],
        space: Annotated[str | None, QueryParameter(max_length=48)] = None,
        tag: Annotated[str | None, QueryParameter(max_length=24)] = None,
        author: Annotated[str | None, QueryParameter(max_length=31)] = None,
        solved: FromQuery[bool | None] = None,
    ) -> list[SearchHitView]:
        return await service.search(
            platform, current_user, q, space=space, tag=tag, author=author, solved=solved
        )


ROUTES: list[Any] = [SearchController]
