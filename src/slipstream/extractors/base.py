"""The Extractor interface.

Declaring one is three lines plus `extract`:

    class MyExtractor(Extractor):
        site_key = "mysite"
        site_name = "My site"

        async def extract(self) -> list[Stream]:
            ...

An extractor does its I/O through `self.http`, the service's one shared
aiohttp session (never a client of its own), so tests point it at a local origin.
Type-specific config keys are declared in an `Options` pydantic model; unknown
keys in a `[[sources]]` table are refused at start.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, ClassVar

import aiohttp
from pydantic import BaseModel, ConfigDict

from slipstream.models import Stream

log = logging.getLogger(__name__)


class NoOptions(BaseModel):
    """An extractor that takes no type-specific settings."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class ExtractorContext:
    """What the service hands every extractor instance."""

    http: aiohttp.ClientSession
    base_dir: str = "."                       # relative file paths resolve against this
    extras: dict[str, Any] = field(default_factory=dict)   # e.g. the demo origin's URL


class Extractor:
    """Base class of every extractor (built-in, configured, or from an entry point)."""

    site_key: ClassVar[str] = ""
    site_name: ClassVar[str] = ""
    trusted: ClassVar[bool] = False
    Options: ClassVar[type[BaseModel]] = NoOptions

    def __init__(
        self,
        ctx: ExtractorContext,
        options: BaseModel | None = None,
        *,
        key: str | None = None,
        name: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.ctx = ctx
        self.options = options if options is not None else self.Options()
        # Instance-level key/name: one class may be configured several times.
        self.key = key or self.site_key
        self.name = name or self.site_name or self.key
        self.timeout = timeout

    @property
    def http(self) -> aiohttp.ClientSession:
        """The shared outbound session."""
        return self.ctx.http

    def stream(self, url: str, **fields: Any) -> Stream:
        """A Stream stamped with this instance's key, name and trust."""
        fields.setdefault("trusted", self.trusted)
        return Stream(url=url, site_key=self.key, site_name=self.name, **fields)

    async def extract(self) -> list[Stream]:
        """Find the streams this source exposes right now."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.key}>"
