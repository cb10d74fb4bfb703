"""Helpers shared by the built-in extractors: fetching, decoding, headers, option checks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from slipstream.errors import UpstreamError, UpstreamStatus, UpstreamTimeout
from slipstream.http import read_capped
from slipstream.urls import strip_query

# Spellings playlists use for the three headers streams most often need.
_HEADER_ALIASES = {
    "referer": "Referer", "referrer": "Referer", "http-referer": "Referer",
    "http-referrer": "Referer", "user-agent": "User-Agent", "useragent": "User-Agent",
    "http-user-agent": "User-Agent", "origin": "Origin", "http-origin": "Origin",
}


# A URL's query or fragment quoted in free text: from "?" or "#" to the next blank or quote.
_URL_QUERY = re.compile(r"""([A-Za-z][A-Za-z0-9+.-]*://[^\s'"?#]*)[?#][^\s'"]*""")


def without_queries(text: str) -> str:
    """`text` with the query of every URL in it cut: error messages quote URLs, tokens and all."""
    return _URL_QUERY.sub(r"\1", text)


def canonical_header(name: str) -> str:
    """`referrer` -> `Referer`, `http-user-agent` -> `User-Agent`, `x-foo` -> `X-Foo`."""
    key = name.strip().lower()
    if key in _HEADER_ALIASES:
        return _HEADER_ALIASES[key]
    return "-".join(part.capitalize() for part in key.split("-"))


def canonical_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of `headers` with canonical names and stripped values."""
    return {canonical_header(k): str(v).strip() for k, v in headers.items() if k.strip()}


def is_header_alias(name: str) -> bool:
    """True when `name` is a playlist spelling of Referer, User-Agent or Origin."""
    return name.strip().lower() in _HEADER_ALIASES


def check_http_url(value: str | None) -> str | None:
    """Pydantic validator: an absolute http(s) URL with a host (or None)."""
    if value is None:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value.strip()


def check_regex(value: str | None) -> str | None:
    """Pydantic validator: a regular expression that compiles."""
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"bad regular expression {value!r}: {exc}") from None
    return value


def decode_text(data: bytes) -> str:
    """UTF-8 (BOM or not), else Latin-1: playlists and pages come in both."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


async def fetch(
    http: aiohttp.ClientSession, url: str, headers: Mapping[str, str], cap: int
) -> tuple[bytes, str]:
    """GET `url` (redirects followed, body capped) -> (body, final URL); errors translated."""
    where = strip_query(url)
    try:
        async with http.get(url, headers=dict(headers)) as resp:
            if not 200 <= resp.status < 300:
                raise UpstreamStatus(resp.status, where)
            return await read_capped(resp, cap), str(resp.url)
    except TimeoutError:
        raise UpstreamTimeout(f"timeout fetching {where}") from None
    except aiohttp.TooManyRedirects:
        raise UpstreamError(f"too many redirects fetching {where}") from None
    except aiohttp.ClientError as exc:
        raise UpstreamError(f"{type(exc).__name__} fetching {where}: {without_queries(str(exc))}") from None
    except ValueError as exc:  # read_capped's size refusal, or an unusable URL
        raise UpstreamError(f"{where}: {exc}") from None


def read_file_capped(path: Path, cap: int) -> bytes:
    """A local file's bytes, refusing one larger than `cap`."""
    size = path.stat().st_size
    if size > cap:
        raise ValueError(f"too large ({size} bytes > {cap})")
    return path.read_bytes()
