"""The `demo` extractor: the channels of the built-in synthetic origin (slipstream.demo).

The service's lifespan starts the origin and puts it in `ctx.extras["demo_origin"]`;
this extractor only lists its channels, fetching nothing.
"""

from __future__ import annotations

from slipstream.errors import SlipstreamError
from slipstream.extractors.base import Extractor
from slipstream.models import Stream


class DemoExtractor(Extractor):
    """Lists the demo origin's channels (one live master, fMP4, TS, and one broken on purpose)."""

    site_key = "demo"
    site_name = "Demo channels"

    async def extract(self) -> list[Stream]:
        """One stream per demo channel."""
        origin = self.ctx.extras.get("demo_origin")
        if origin is None:
            if failed := self.ctx.extras.get("demo_error"):
                raise SlipstreamError(f"the demo origin could not start: {failed}")
            raise SlipstreamError("the demo origin is not running (it is started by `slipstream demo` "
                                  "or by a `type = \"demo\"` source)")
        base = origin.base_url.rstrip("/")
        return [self.stream(base + ch.path, title=ch.title, quality=ch.quality,
                            series=ch.series, session_type=ch.session_type)
                for ch in origin.channels]
