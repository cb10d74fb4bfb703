"""Extended M3U / IPTV playlists, parsed (pure); the `m3u` extractor is in `m3u.py`.

Every http(s) entry is an HLS candidate (`stream_type "m3u8"`) whether or not
its URL ends in `.m3u8`: IPTV panels hide the extension (`/live/user/pass/42`)
and the health check gives the verdict anyway. Only an entry whose path ends in
`.html`/`.htm` is a web page, hence an embed.

Headers of an entry, weakest first: the `#EXTM3U` line's attributes, the
`#EXTINF` attributes, `#EXTVLCOPT`, `#EXTHTTP`, then the Kodi `URL|Name=value`
suffix (the source's own `headers` sit under all of them).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from slipstream.errors import PlaylistError
from slipstream.extractors.support import canonical_header, canonical_headers, is_header_alias
from slipstream.models import StreamType
from slipstream.tags import split_quality
from slipstream.urls import strip_query

_ATTR = re.compile(r"""\s*([A-Za-z0-9_:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s,"']+))""")
_DURATION = re.compile(r"\s*(-?\d+(?:\.\d+)?)?")
_HLS_TAGS = ("#EXT-X-TARGETDURATION", "#EXT-X-STREAM-INF", "#EXT-X-MEDIA-SEQUENCE")
_VLC_HEADERS = ("http-referrer", "http-referer", "http-user-agent", "http-origin")
# RFC 9110 §5.1 field names are tokens; values hold no control characters but HTAB (§5.5).
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE_CTL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


@dataclass
class M3UEntry:
    """One playable entry of a playlist."""

    url: str
    title: str               # cleaned: quality and availability flags cut
    line: int
    raw_title: str = ""      # as the playlist wrote it (what the `titles` filter matches)
    stream_type: StreamType = "m3u8"
    quality: str | None = None
    group: str | None = None
    tvg_id: str | None = None
    tvg_name: str | None = None
    logo: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class M3USkip:
    """An entry that could not be read, with the line it ended on and why."""

    line: int
    reason: str


@dataclass
class M3UParseResult:
    """The entries of a playlist, the entries skipped, and the `#EXTM3U` line's attributes."""

    entries: list[M3UEntry] = field(default_factory=list)
    skipped: list[M3USkip] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class _Pending:
    """What the lines before a URL said about it."""

    line: int = 0            # of the #EXTINF, where a skip is reported
    extinf: bool = False
    title: str = ""
    attrs: dict[str, str] = field(default_factory=dict)
    group: str | None = None
    vlc_headers: dict[str, str] = field(default_factory=dict)
    http_headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None


def parse_attributes(text: str) -> tuple[dict[str, str], str]:
    """`key="value"` pairs from the start of `text` -> (attributes, the rest)."""
    attrs: dict[str, str] = {}
    pos = 0
    while match := _ATTR.match(text, pos):
        value = next(g for g in match.groups()[1:] if g is not None)
        attrs[match.group(1).lower()] = value.strip()
        pos = match.end()
    return attrs, text[pos:]


def _read_extinf(body: str, pending: _Pending) -> None:
    duration = _DURATION.match(body)
    rest = body[duration.end() if duration else 0:]
    attrs, rest = parse_attributes(rest)
    head, comma, title = rest.partition(",")
    if head.count('"') % 2 or head.count("'") % 2:
        pending.error = "unterminated quote in #EXTINF attributes"
    elif head.strip() and not comma:
        pending.error = f"malformed #EXTINF: {body[:60]!r}"
    pending.extinf, pending.attrs, pending.title = True, attrs, title.strip()


def _read_exthttp(body: str, pending: _Pending) -> None:
    try:
        data: Any = json.loads(body)
    except (ValueError, RecursionError):  # deeply nested JSON exhausts the recursion limit
        data = None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        pending.error = "bad #EXTHTTP (not a JSON object of strings)"
        return
    pending.http_headers.update(canonical_headers(data))


def _read_vlcopt(body: str, pending: _Pending) -> None:
    key, _, value = body.partition("=")
    if key.strip().lower() in _VLC_HEADERS:
        pending.vlc_headers[canonical_header(key)] = value.strip()


def _split_kodi(line: str) -> tuple[str, dict[str, str]]:
    """`URL|User-Agent=...&Referer=...` -> (URL, headers), values URL-decoded."""
    url, _, options = line.partition("|")
    headers: dict[str, str] = {}
    for part in filter(None, options.split("&")):
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"bad Kodi header option {part[:40]!r}")
        headers[canonical_header(unquote(name))] = unquote(value).strip()
    return url.strip(), headers


def _entry_url(raw: str, base_url: str | None) -> str:
    if any(c.isspace() for c in raw):
        raise ValueError(f"not a URL: {raw.partition('?')[0][:60]!r}")  # never log a query: tokens
    scheme = urlsplit(raw).scheme.lower()
    if not scheme and base_url:
        raw, scheme = urljoin(base_url, raw), urlsplit(base_url).scheme.lower()
    if not scheme:
        raise ValueError(f"relative URL {raw.partition('?')[0][:60]!r} with no playlist URL to resolve it "
                         "against")
    if scheme not in ("http", "https") or not urlsplit(raw).hostname:
        raise ValueError(f"unsupported URL {strip_query(raw)[:60]!r} (http/https only)")
    return raw


def _playlist_headers(attrs: dict[str, str]) -> dict[str, str]:
    return {canonical_header(k): v for k, v in attrs.items() if is_header_alias(k) and v}


def _build_entry(line: str, number: int, p: _Pending, result: M3UParseResult, base: str | None
                 ) -> M3UEntry:
    raw, kodi_headers = _split_kodi(line)
    url = _entry_url(raw, base)
    headers = {**_playlist_headers(result.attributes), **_playlist_headers(p.attrs),
               **p.vlc_headers, **p.http_headers, **kodi_headers}
    _check_headers(headers)
    name = p.attrs.get("tvg-name") or None
    raw_title = p.title or name or _title_from_url(url)
    title, quality = split_quality(raw_title)
    path = urlsplit(url).path.lower()
    kind: StreamType = "embed" if path.endswith((".html", ".htm")) else "m3u8"
    attrs = p.attrs
    return M3UEntry(url=url, title=title, line=number, raw_title=raw_title, stream_type=kind,
                    quality=quality, group=attrs.get("group-title") or p.group,
                    tvg_id=attrs.get("tvg-id") or None, tvg_name=name,
                    logo=attrs.get("tvg-logo") or None, headers=headers)


def _check_headers(headers: dict[str, str]) -> None:
    """Refuse header names and values no HTTP request may carry (CRLF would inject headers)."""
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name) or _HEADER_VALUE_CTL.search(value):
            raise ValueError(f"bad header {name[:40]!r}: {value[:40]!r}")


def _title_from_url(url: str) -> str:
    name = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".m3u8")
    return name or urlsplit(url).hostname or url


def _check_is_m3u(lines: list[str]) -> None:
    first = next((line for line in lines if line), "")
    if not first:
        raise PlaylistError("not an M3U playlist (empty)")
    if any(line.startswith(_HLS_TAGS) for line in lines):
        raise PlaylistError("an HLS stream playlist, not a channel list: use a curated source")
    extended = first.upper().startswith("#EXTM3U") or any(
        line.upper().startswith("#EXTINF") for line in lines)
    if not extended and not re.match(r"https?:", first, re.IGNORECASE):  # urlsplit raises on "http://[x"
        raise PlaylistError(f"not an M3U playlist (starts with {first[:40]!r})")


def _read_extgrp(body: str, pending: _Pending) -> None:
    pending.group = body.strip() or None


# Directives that add to the entry being read; #EXTINF and URLs are handled by _Reader.
_DIRECTIVES = {"#EXTGRP:": _read_extgrp, "#EXTVLCOPT:": _read_vlcopt, "#EXTHTTP:": _read_exthttp}


class _Reader:
    """Feeds lines one at a time; what precedes a URL line belongs to that URL."""

    def __init__(self, base_url: str | None) -> None:
        self.result, self.pending, self.base_url = M3UParseResult(), _Pending(), base_url

    def feed(self, number: int, line: str) -> None:
        upper = line.upper()
        if upper.startswith("#EXTM3U"):
            self.result.attributes.update(parse_attributes(line[7:])[0])
        elif upper.startswith("#EXTINF:"):
            self.close_dangling()
            self.pending.line = number
            _read_extinf(line[8:], self.pending)
        elif prefix := next((p for p in _DIRECTIVES if upper.startswith(p)), None):
            _DIRECTIVES[prefix](line[len(prefix):], self.pending)
        elif line and not line.startswith("#"):
            self.add_entry(number, line)
            self.pending = _Pending()

    def add_entry(self, number: int, line: str) -> None:
        if self.pending.error:
            self.result.skipped.append(M3USkip(self.pending.line, self.pending.error))
            return
        try:
            entry = _build_entry(line, number, self.pending, self.result, self.base_url)
        except ValueError as exc:
            self.result.skipped.append(M3USkip(number, str(exc)))
        else:
            self.result.entries.append(entry)

    def close_dangling(self) -> None:
        """An #EXTINF still waiting for its URL never gets one."""
        if self.pending.extinf:
            self.result.skipped.append(M3USkip(self.pending.line, "#EXTINF with no URL after it"))
            self.pending = _Pending()


def parse_m3u(text: str, base_url: str | None = None) -> M3UParseResult:
    """Read an extended M3U playlist; unreadable entries are skipped, never the whole list."""
    if "\x00" in text:
        raise PlaylistError("not an M3U playlist (binary data)")
    lines = [line.strip() for line in text.lstrip("\ufeff").splitlines()]
    _check_is_m3u(lines)
    reader = _Reader(base_url)
    for number, line in enumerate(lines, 1):
        reader.feed(number, line)
    reader.close_dangling()
    return reader.result
