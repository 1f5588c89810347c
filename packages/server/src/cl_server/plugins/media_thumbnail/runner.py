"""media_thumbnail runner: image thumbnail, or video key-frame mosaic, to output/thumbnail.jpg."""

from __future__ import annotations

from cl_server.errors import PluginError
from cl_server.media.images import NotAnImageError
from cl_server.plugins.base import JobContext, SingleJobRunner, TaskOutput
from cl_server.plugins.media_thumbnail.image_thumb import make_image_thumbnail
from cl_server.plugins.media_thumbnail.spec import MediaThumbnailParams
from cl_server.plugins.media_thumbnail.video_thumb import make_video_mosaic

OUTPUT = "output/thumbnail.jpg"


class MediaThumbnailRunner(SingleJobRunner):
    def run(self, ctx: JobContext) -> TaskOutput:
        params = MediaThumbnailParams.model_validate(dict(ctx.params))
        source = ctx.require_input()
        destination = ctx.output_file(OUTPUT)
        try:
            make_image_thumbnail(
                source,
                destination,
                params.width,
                params.height,
                maintain_aspect_ratio=params.maintain_aspect_ratio,
            )
            return {"media_type": "image"}
        except NotAnImageError as not_image:
            image_reason = str(not_image)
        ctx.report_progress(10)
        try:
            make_video_mosaic(
                source,
                destination,
                params.width,
                params.height,
                maintain_aspect_ratio=params.maintain_aspect_ratio,
                cancelled=ctx.cancelled,
            )
        except PluginError as exc:
            if source.stat().st_size == 0:
                raise PluginError(image_reason) from exc
            raise PluginError(f"file is not an image, and not a usable video: {exc}") from exc
        return {"media_type": "video"}
