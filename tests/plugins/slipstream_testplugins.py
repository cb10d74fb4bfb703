"""Third-party extractors used by the integration tests, published through the
`slipstream.extractors` entry-point group (see the dist-info beside this file).

They are real extractor classes: one raises, one never returns, one lists the
streams named in its options, one lists a great many (50,000 by default).
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, ConfigDict

from slipstream.extractors.base import Extractor
from slipstream.models import Stream


class RaisingExtractor(Extractor):
    site_key = "raiser"
    site_name = "Always raises"

    async def extract(self) -> list[Stream]:
        raise RuntimeError("the site changed its layout")


class HangingExtractor(Extractor):
    site_key = "hanger"
    site_name = "Never returns"

    async def extract(self) -> list[Stream]:
        await asyncio.Event().wait()
        return []


class ListOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    urls: list[str] = []
    titles: list[str] = []


class ListExtractor(Extractor):
    site_key = "lister"
    site_name = "Lists given URLs"
    Options = ListOptions

    async def extract(self) -> list[Stream]:
        opts = self.options
        assert isinstance(opts, ListOptions)
        titles = opts.titles or [f"Feed {i}" for i in range(len(opts.urls))]
        return [self.stream(u, title=t) for u, t in zip(opts.urls, titles, strict=False)]


class ManyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str            # a template with {i}: one distinct URL per stream
    count: int = 50_000


class ManyExtractor(Extractor):
    site_key = "many"
    site_name = "Lists a great many streams"
    Options = ManyOptions

    async def extract(self) -> list[Stream]:
        opts = self.options
        assert isinstance(opts, ManyOptions)
        return [self.stream(opts.url.format(i=i), title=f"Channel {i}") for i in range(opts.count)]
