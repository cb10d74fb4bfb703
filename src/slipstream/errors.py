"""The error tree of slipstream.

    SlipstreamError
    ├── ConfigError          a bad config file or value (file, field, reason)
    ├── UpstreamError        anything that went wrong talking to an upstream
    │   ├── UpstreamTimeout
    │   └── UpstreamStatus   an HTTP status that is not success
    ├── PlaylistError        not a playlist, or one that does not parse
    └── ProxyDenied          a request the proxy refuses (unsigned, expired, private upstream)

Lower-library errors (aiohttp, m3u8, pydantic) are translated into these at the
boundary; the API maps them to HTTP statuses with one exception handler.
"""

from __future__ import annotations


class SlipstreamError(Exception):
    """Base of every error slipstream raises on purpose."""


class ConfigError(SlipstreamError):
    """A config file or value that cannot be used."""

    def __init__(self, file: str, field: str, reason: str) -> None:
        self.file, self.field, self.reason = file, field, reason
        super().__init__(f"{file}: {field}: {reason}")


class UpstreamError(SlipstreamError):
    """An upstream could not be fetched."""


class UpstreamTimeout(UpstreamError):
    """An upstream did not answer in time."""


class UpstreamStatus(UpstreamError):
    """An upstream answered with a non-success HTTP status."""

    def __init__(self, status: int, url: str = "") -> None:
        self.status = status
        self.url = url
        super().__init__(f"http {status}")


class PlaylistError(SlipstreamError):
    """Bytes that are not a usable HLS/M3U playlist."""


class ProxyDenied(SlipstreamError):
    """A proxy request or an outbound fetch that slipstream refuses to make."""
