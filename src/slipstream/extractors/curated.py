"""The `curated` extractor: a hand-picked list of streams written in the config file.

Curated streams are trusted: the user vouched for them, so the service skips
the playback verifier for them (DESIGN.md "Extraction run", step 4).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from slipstream.extractors.base import Extractor
from slipstream.extractors.support import canonical_headers, check_http_url
from slipstream.models import Stream
from slipstream.tags import apply_tags


class CuratedEntry(BaseModel):
    """One stream of the list: `url` for HLS, or `embed_url` for a page to embed."""

    model_config = ConfigDict(extra="forbid")
    title: str = ""
    url: str | None = None
    embed_url: str | None = None
    quality: str | None = None
    series: str | None = None
    session_type: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)

    _urls = field_validator("url", "embed_url")(check_http_url)

    @field_validator("series", "session_type")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return value.strip().lower() or None

    @model_validator(mode="after")
    def _one_url(self) -> CuratedEntry:
        if self.url is None and self.embed_url is None:
            raise PydanticCustomError(
                "url_or_embed_url", "missing: give url or embed_url", {"field": "url"})
        if self.url is not None and self.embed_url is not None:
            raise PydanticCustomError(
                "url_or_embed_url", "give url or embed_url, not both", {"field": "embed_url"})
        return self


class CuratedOptions(BaseModel):
    """`[[sources]]` keys of a curated source."""

    model_config = ConfigDict(extra="forbid")
    streams: list[CuratedEntry] = Field(min_length=1)


def _fallback_title(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}{parts.path}"


class CuratedExtractor(Extractor):
    """The streams listed in the config file, as written."""

    site_key = "curated"
    site_name = "Curated"
    trusted = True
    Options = CuratedOptions
    options: CuratedOptions

    async def extract(self) -> list[Stream]:
        """The configured streams, tagged where the config left tags out."""
        return [apply_tags(self._to_stream(entry)) for entry in self.options.streams]

    def _to_stream(self, entry: CuratedEntry) -> Stream:
        url = entry.embed_url or entry.url or ""
        return self.stream(
            url,
            title=entry.title.strip() or _fallback_title(url),
            stream_type="embed" if entry.embed_url else "m3u8",
            embed_url=entry.embed_url,
            quality=entry.quality,
            series=entry.series,
            session_type=entry.session_type,
            headers=canonical_headers(entry.headers),
        )
