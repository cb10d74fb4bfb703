"""The `page` extractor: HLS URLs and embeddable iframes found in web pages.

`scan_page` is pure: the stdlib HTML parser reads `<video>`, `<source>`,
`<iframe>`, `<title>` and `<base href>`; a scan outwards from every `.m3u8` in
the text finds URLs in inline scripts, JSON and attributes (with `\\/` and
`\\u002F` escapes undone). Relative URLs resolve against the page's final URL.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Annotated
from urllib.parse import urljoin, urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from slipstream.errors import UpstreamError
from slipstream.extractors.base import Extractor
from slipstream.extractors.support import (
    canonical_headers,
    check_http_url,
    check_regex,
    decode_text,
    fetch,
)
from slipstream.models import Stream, StreamType
from slipstream.tags import apply_tags, split_quality
from slipstream.urls import canonical_url, strip_query

log = logging.getLogger(__name__)

_ESCAPES = (("\\/", "/"), ("\\u002F", "/"), ("\\u002f", "/"), ("\\u0026", "&"))
# URLs in scripts are found from each ".m3u8" outwards, with bounded lengths and
# a bounded count, so a hostile page (a huge data URI, "////...") costs linear time.
_DELIMITERS = " \t\r\n\"'`<>()\\"
_QUOTES = "\"'`"
_MAX_URL = 2048
_MAX_CANDIDATES = 2000
_SCHEME = re.compile(r"https?:\Z", re.I)
_QUERY = re.compile(rf"""\?[^\s"'`<>()\\]{{0,{_MAX_URL}}}""")
_PROGRESSIVE = (".mp4", ".webm", ".ogg", ".ogv", ".mp3", ".m4a", ".mov", ".mkv", ".avi")


@dataclass
class Found:
    """A stream found in a page: an absolute URL, its kind, and its own title if it has one."""

    url: str
    kind: StreamType
    title: str | None = None


@dataclass
class PageScan:
    """What one page offers: its title and the streams found in it, in page order."""

    title: str
    found: list[Found] = field(default_factory=list)


class _Scanner(HTMLParser):
    """Collects the elements that can carry a stream, with their raw URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.title_parts: list[str] = []
        self.in_title = False
        self.elements: list[tuple[str, str, str | None]] = []   # (tag, src, type or title)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        src = a.get("src") or a.get("data-src") or ""
        if tag == "title":
            self.in_title = True
        elif tag == "base" and self.base is None and a.get("href"):
            self.base = a["href"]
        elif tag in ("video", "source") and src:
            self._add(tag, src, a.get("type"))
        elif tag == "iframe" and src:
            self._add(tag, src, a.get("title"))

    def _add(self, tag: str, src: str, extra: str | None) -> None:
        if len(self.elements) < _MAX_CANDIDATES:  # a hostile page cannot make the list huge
            self.elements.append((tag, src, extra))

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title_parts.append(data)


def _resolve(base: str, raw: str) -> str | None:
    url = urljoin(base, html.unescape(raw.strip()))
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.hostname else None


def _media_kind(url: str, mime: str | None) -> StreamType | None:
    """HLS when it says so; progressive files are not streams; anything else may be HLS."""
    path, mime = urlsplit(url).path.lower(), (mime or "").lower()
    if "mpegurl" in mime or path.endswith(".m3u8"):
        return "m3u8"
    if path.endswith(_PROGRESSIVE) or mime.startswith(("video/mp4", "video/webm", "audio/")):
        return None
    return "m3u8"


def _element_finds(scanner: _Scanner, base: str) -> list[Found]:
    finds: list[Found] = []
    for tag, raw, extra in scanner.elements:
        url = _resolve(base, raw)
        if url is None:
            continue
        if tag == "iframe":
            finds.append(Found(url, "embed", (extra or "").strip() or None))
        elif (kind := _media_kind(url, extra)) is not None:
            finds.append(Found(url, kind))
    return finds


def _candidate(text: str, at: int) -> str | None:
    """The URL around the ".m3u8" at `at`: absolute, or relative if quoted; else None."""
    end = at + len(".m3u8")
    if end < len(text) and text[end] not in _DELIMITERS + "?#":
        return None  # ".m3u8x", ".m3u8/more": the path does not end there
    if query := _QUERY.match(text, end):
        end = query.end()
    window_start = max(0, at - _MAX_URL)
    start = 1 + max(text.rfind(c, window_start, at) for c in _DELIMITERS)
    start = max(start, window_start)
    raw = text[start:end]
    slashes = raw.find("//")
    if slashes >= 0:
        scheme = _SCHEME.search(raw, 0, slashes)
        return raw[scheme.start() if scheme else slashes:]
    return raw if start > 0 and text[start - 1] in _QUOTES else None


def _script_finds(text: str, base: str) -> list[Found]:
    for escaped, plain in _ESCAPES:
        text = text.replace(escaped, plain)
    lowered, finds, at = text.lower(), [], 0
    for _ in range(_MAX_CANDIDATES):
        at = lowered.find(".m3u8", at)
        if at == -1:
            break
        raw = _candidate(text, at)
        at += len(".m3u8")
        if raw and (url := _resolve(base, raw)):
            finds.append(Found(url, "m3u8"))
    return finds


def scan_page(text: str, page_url: str) -> PageScan:
    """The streams a page offers; `page_url` is where it was finally fetched from."""
    scanner = _Scanner()
    scanner.feed(text)
    scanner.close()
    base = urljoin(page_url, scanner.base) if scanner.base else page_url
    title = " ".join("".join(scanner.title_parts).split())
    seen: set[str] = set()
    found: list[Found] = []
    for item in _element_finds(scanner, base) + _script_finds(text, base):
        if (key := canonical_url(item.url)) not in seen:
            seen.add(key)
            found.append(item)
    parts = urlsplit(page_url)
    return PageScan(title or f"{parts.hostname}{parts.path}", found)


HttpUrl = Annotated[str, AfterValidator(check_http_url)]


class PageOptions(BaseModel):
    """`[[sources]]` keys of a page source; `keep`/`drop` are regexes on found URLs."""

    model_config = ConfigDict(extra="forbid")
    pages: list[HttpUrl] = Field(min_length=1)
    keep: str | None = None
    drop: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    max_bytes: int = Field(5_000_000, ge=1024)

    _patterns = field_validator("keep", "drop")(check_regex)


class PageExtractor(Extractor):
    """Streams found in the pages the user lists."""

    site_key = "page"
    site_name = "Web pages"
    Options = PageOptions
    options: PageOptions

    async def extract(self) -> list[Stream]:
        """Scan every page at once; a page that fails is logged, all failing raises."""
        pages = self.options.pages
        outcomes = await asyncio.gather(*(self._scan(p) for p in pages), return_exceptions=True)
        streams: list[Stream] = []
        errors: list[Exception] = []
        for page, outcome in zip(pages, outcomes, strict=True):
            if isinstance(outcome, list):
                streams.extend(outcome)
            elif isinstance(outcome, Exception):
                log.warning("%s: page %s failed: %s", self.key, strip_query(page), outcome)
                errors.append(outcome)
            else:
                raise outcome  # cancellation and the like are not a page's failure
        if len(errors) == len(pages):
            raise errors[0] if len(errors) == 1 else UpstreamError(
                f"all {len(pages)} pages failed, first: {errors[0]}")
        return streams

    async def _scan(self, page: str) -> list[Stream]:
        headers = canonical_headers(self.options.headers)
        body, final = await fetch(self.http, page, headers, self.options.max_bytes)
        # Parsing a large page takes a while: off the event loop, which serves the API.
        scan = await asyncio.to_thread(scan_page, decode_text(body), final)
        found = [f for f in scan.found if self._keep(f.url)]
        log.info("%s: page %s: %d streams (%d found, %d filtered out)", self.key,
                 strip_query(page), len(found), len(scan.found), len(scan.found) - len(found))
        return [apply_tags(self._to_stream(f, scan.title, i, len(found), final))
                for i, f in enumerate(found, 1)]

    def _keep(self, url: str) -> bool:
        keep, drop = self.options.keep, self.options.drop
        return (keep is None or re.search(keep, url) is not None) and (
            drop is None or re.search(drop, url) is None)

    def _to_stream(self, item: Found, page_title: str, index: int, count: int,
                   page_url: str) -> Stream:
        title, quality = split_quality(item.title or page_title)
        if item.title is None and count > 1:
            title = f"{title} #{index}"
        if item.kind == "embed":
            return self.stream(item.url, title=title, stream_type="embed",
                               embed_url=item.url, quality=quality)
        headers = {**canonical_headers(self.options.headers), "Referer": page_url}
        return self.stream(item.url, title=title, quality=quality, headers=headers)
