"""The `m3u` extractor: an extended M3U / IPTV playlist from a URL or a file.

The parsing is pure and lives in `m3u_parse.py`; this module adds the source's
settings, the fetch, the filters and the tags.
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from slipstream.errors import PlaylistError
from slipstream.extractors.base import Extractor
from slipstream.extractors.m3u_parse import M3UEntry, M3UParseResult, M3USkip, parse_m3u
from slipstream.extractors.support import (
    canonical_headers,
    check_http_url,
    check_regex,
    decode_text,
    fetch,
    read_file_capped,
)
from slipstream.models import Stream
from slipstream.tags import apply_tags

__all__ = ["M3UEntry", "M3UExtractor", "M3UOptions", "M3UParseResult", "M3USkip", "parse_m3u"]

log = logging.getLogger(__name__)
_MAX_LOGGED_SKIPS = 10


class M3UOptions(BaseModel):
    """`[[sources]]` keys of an m3u source.

    `groups` match group titles and `titles` (a regex) the titles as the playlist
    writes them ("Main feed (1080p)"), both case-insensitively.
    """

    model_config = ConfigDict(extra="forbid")
    url: str | None = None
    path: str | None = None
    groups: list[str] = Field(default_factory=list)
    titles: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    max_bytes: int = Field(32_000_000, ge=1024)

    _url = field_validator("url")(check_http_url)
    _titles = field_validator("titles")(check_regex)

    @model_validator(mode="after")
    def _one_location(self) -> M3UOptions:
        if self.url is None and self.path is None:
            raise PydanticCustomError("url_or_path", "missing: give url or path", {"field": "url"})
        if self.url is not None and self.path is not None:
            raise PydanticCustomError("url_or_path", "give url or path, not both", {"field": "path"})
        return self


class M3UExtractor(Extractor):
    """Streams listed in an M3U playlist."""

    site_key = "m3u"
    site_name = "M3U playlist"
    Options = M3UOptions
    options: M3UOptions

    async def extract(self) -> list[Stream]:
        """Fetch or read the playlist, then parse, filter and tag it off the event loop."""
        text, base = await self._load()
        return await asyncio.to_thread(self._streams, text, base)

    def _streams(self, text: str, base: str | None) -> list[Stream]:
        result = parse_m3u(text, base)
        self._log_skips(result.skipped)
        wanted = [e for e in result.entries if self._wanted(e)]
        log.info("%s: %d entries, %d kept, %d skipped", self.key, len(result.entries),
                 len(wanted), len(result.skipped))
        return [apply_tags(self._to_stream(e)) for e in wanted]

    async def _load(self) -> tuple[str, str | None]:
        opts = self.options
        if opts.url is not None:
            body, final = await fetch(self.http, opts.url, canonical_headers(opts.headers),
                                      opts.max_bytes)
            return decode_text(body), final
        path = Path(self.ctx.base_dir) / (opts.path or "")
        try:
            body = await asyncio.to_thread(read_file_capped, path, opts.max_bytes)
        except (OSError, ValueError) as exc:
            raise PlaylistError(f"cannot read playlist file {path}: {exc}") from None
        return decode_text(body), None

    def _wanted(self, entry: M3UEntry) -> bool:
        groups = {g.casefold() for g in self.options.groups}
        entry_groups = {g.strip().casefold() for g in (entry.group or "").split(";")}
        if groups and not groups & entry_groups:
            return False
        pattern = self.options.titles
        return pattern is None or re.search(pattern, entry.raw_title, re.IGNORECASE) is not None

    def _to_stream(self, entry: M3UEntry) -> Stream:
        headers = {**canonical_headers(self.options.headers), **entry.headers}
        embed = entry.url if entry.stream_type == "embed" else None
        return self.stream(entry.url, title=entry.title, stream_type=entry.stream_type,
                           embed_url=embed, quality=entry.quality, headers=headers,
                           group=entry.group, logo=entry.logo, tvg_id=entry.tvg_id)

    def _log_skips(self, skipped: list[M3USkip]) -> None:
        for skip in skipped[:_MAX_LOGGED_SKIPS]:
            log.info("%s: skipped entry at line %d: %s", self.key, skip.line, skip.reason)
        if len(skipped) > _MAX_LOGGED_SKIPS:
            log.info("%s: ... and %d more skipped", self.key, len(skipped) - _MAX_LOGGED_SKIPS)
