"""Picture routes: upload a picture for a post (checked by its bytes), and serve it.

Serving needs no sign-in: a post's `<img>` cannot send the API's bearer token. A picture
is reached only by its random id, which only the posts that show it reveal."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Controller, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, MultipartBody
from litestar.status_codes import HTTP_201_CREATED

from dracarys.community.images import service
from dracarys.community.images.models import IMAGE_MAX_BYTES, ImageView
from dracarys.identity import CurrentUser, authenticated
from dracarys.platform import Platform


@dataclass
class ImageForm:
    file: UploadFile


class ImagesController(Controller):
    path = "/api/v1/community/images"
    tags = ("community",)

    @post(
        "",
        operation_id="uploadCommunityImage",
        summary="Upload a picture for a post (PNG, JPEG, GIF or WebP by its bytes)",
        status_code=HTTP_201_CREATED,
        guards=[authenticated],
        request_max_body_size=IMAGE_MAX_BYTES + 100_000,
    )
    async def upload(
        self,
        data: MultipartBody[ImageForm],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> ImageView:
        return await service.upload(platform, current_user, await data.file.read())

    @get(
        "/{image_id:uuid}",
        operation_id="getCommunityImage",
        summary="A post's picture",
    )
    async def image(
        self, image_id: FromPath[uuid.UUID], platform: NamedDependency[Platform]
    ) -> Response[bytes]:
        found = await service.image(platform, image_id)
        return Response(
            content=found.content,
            media_type=found.content_type,
            headers={
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'",
                "Cache-Control": "public, max-age=31536000, immutable",
            },
        )


ROUTES: list[Any] = [ImagesController]
