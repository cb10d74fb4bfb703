"""The records slipstream passes around: Stream, HealthResult, Verdict, ActiveStream."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from slipstream.urls import canonical_url, stream_id

StreamType = Literal["m3u8", "embed"]


def utcnow_iso() -> str:
    """The current UTC time as ISO-8601 with a Z suffix."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class Stream:
    """One stream a source exposes; see DESIGN.md "The stream record"."""

    url: str
    site_key: str
    site_name: str
    title: str = ""
    stream_type: StreamType = "m3u8"
    embed_url: str | None = None
    quality: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    series: str | None = None
    session_type: str | None = None
    group: str | None = None
    logo: str | None = None
    tvg_id: str | None = None
    trusted: bool = False
    is_live: bool = False
    reason: str | None = None
    response_time_ms: float | None = None
    bitrate: int | None = None
    first_frame_ms: float | None = None
    uptime: float | None = None
    checked_at: str | None = None

    @property
    def canonical(self) -> str:
        """The dedupe key: the canonical form of `embed_url` if set, else of `url`."""
        return canonical_url(self.embed_url or self.url)

    @property
    def id(self) -> str:
        """Stable across token refreshes: site key + canonical URL."""
        return stream_id(self.site_key, self.embed_url or self.url)

    def to_dict(self) -> dict[str, Any]:
        """All fields plus `id`, as stored (headers included; the API drops them)."""
        data = asdict(self)
        data["id"] = self.id
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Stream:
        """Inverse of `to_dict`; unknown keys (like `id`) are ignored."""
        names = cls.__dataclass_fields__.keys()
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class HealthResult:
    """The structural health verdict of one HLS URL."""

    url: str
    is_live: bool
    reason: str
    response_time_ms: float | None = None
    bitrate: int | None = None
    checked_at: str = field(default_factory=utcnow_iso)


@dataclass
class Verdict:
    """The playback verifier's verdict on one URL."""

    url: str
    is_playable: bool
    elapsed_ms: float | None
    reason: str


@dataclass
class ActiveStream:
    """A stream being watched through the proxy."""

    stream_id: str
    site_key: str
    original_url: str
    current_url: str
    last_refreshed: str | None = None
    refresh_count: int = 0
    last_error: str | None = None
