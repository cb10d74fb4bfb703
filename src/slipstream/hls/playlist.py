"""HLS playlists as small dataclasses (pure).

Parsing goes through the `m3u8` library; its exceptions become PlaylistError.
Every URI is made absolute against the playlist's own URL (RFC 8216 §4.1).
The segment-bytes helpers (sniff_media, decrypt_prefix) live in `sniff` and are
re-exported here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urljoin

import m3u8.parser

from slipstream.errors import PlaylistError
from slipstream.hls.sniff import MediaKind, decrypt_prefix, is_text, sniff_media

__all__ = [
    "ByteRange", "InitSection", "Key", "MasterPlaylist", "MediaKind", "MediaPlaylist", "Playlist",
    "Segment", "Variant", "decrypt_prefix", "is_text", "parse_playlist", "pick_variant",
    "segment_iv", "sniff_media",
]

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class ByteRange:
    """A sub-range of a resource (RFC 8216 §4.3.2.2)."""

    length: int
    offset: int

    @property
    def header(self) -> str:
        """The HTTP Range header value for the whole sub-range."""
        return f"bytes={self.offset}-{self.offset + self.length - 1}"


@dataclass(frozen=True)
class Key:
    """An EXT-X-KEY (RFC 8216 §4.3.2.4); `uri` absolute, `iv` 16 bytes or None."""

    method: str
    uri: str | None = None
    iv: bytes | None = None


@dataclass(frozen=True)
class InitSection:
    """An EXT-X-MAP media initialization section (RFC 8216 §4.3.2.5)."""

    uri: str
    byterange: ByteRange | None = None


@dataclass(frozen=True)
class Segment:
    """One media segment with the tags that apply to it."""

    uri: str
    duration: float
    sequence: int
    byterange: ByteRange | None = None
    key: Key | None = None
    init: InitSection | None = None


@dataclass(frozen=True)
class Variant:
    """One EXT-X-STREAM-INF entry of a master playlist (RFC 8216 §4.3.4.2)."""

    uri: str
    bandwidth: int
    resolution: tuple[int, int] | None = None
    codecs: str | None = None
    audio: str | None = None


@dataclass(frozen=True)
class MasterPlaylist:
    """A multivariant playlist."""

    url: str
    variants: list[Variant]


@dataclass(frozen=True)
class MediaPlaylist:
    """A media playlist: segments and the tags that describe the whole list."""

    url: str
    segments: list[Segment]
    target_duration: float
    media_sequence: int = 0
    endlist: bool = False
    playlist_type: str | None = None
    maps: list[InitSection] = field(default_factory=list)
    keys: list[Key] = field(default_factory=list)

    @property
    def last_sequence(self) -> int:
        """The media sequence number of the newest segment (RFC 8216 §6.3.2)."""
        return self.media_sequence + len(self.segments) - 1


Playlist = MasterPlaylist | MediaPlaylist


def _lenient_tags(line: str, lineno: int, data: dict[str, Any], state: dict[str, Any]) -> bool:
    # Real servers write "#EXT-X-TARGETDURATION:6.0"; the library only takes integers.
    if line.startswith("#EXT-X-TARGETDURATION:"):
        data["targetduration"] = _duration(line.split(":", 1)[1])
        return True
    return False


def _duration(text: str | float) -> float:
    # "nan" and "inf" parse as floats; a NaN target duration would make the staleness wait endless.
    value = float(text)
    if not math.isfinite(value):
        raise PlaylistError(f"bad playlist: duration {str(text)[:20]!r} is not a number")
    return value


def parse_playlist(data: bytes, url: str) -> Playlist:
    """Parse playlist bytes fetched from `url`; PlaylistError if they are not one."""
    text = data.removeprefix(_BOM).lstrip().removeprefix(_BOM)
    if not text.startswith(b"#EXTM3U"):  # RFC 8216 §4.3.1.1: the first line
        raise PlaylistError("not a playlist")
    try:
        raw = m3u8.parser.parse(text.decode("utf-8", "replace"), custom_tags_parser=_lenient_tags)
        if raw["is_variant"]:
            return MasterPlaylist(url, [_variant(p, url) for p in raw["playlists"]])
        return _media(raw, url)
    except PlaylistError:
        raise
    except Exception as exc:  # the library raises bare ValueError/KeyError/IndexError on bad lines
        raise PlaylistError(f"bad playlist: {exc}") from exc


def _variant(raw: dict[str, Any], base: str) -> Variant:
    info = raw["stream_info"]
    res = None
    if match := re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(info.get("resolution", ""))):
        res = (int(match[1]), int(match[2]))
    return Variant(
        uri=urljoin(base, raw["uri"]),
        bandwidth=int(info.get("bandwidth") or info.get("average_bandwidth") or 0),
        resolution=res,
        codecs=info.get("codecs"),
        audio=info.get("audio"),
    )


def _media(raw: dict[str, Any], base: str) -> MediaPlaylist:
    first = int(raw.get("media_sequence") or 0)
    if first < 0:  # RFC 8216 §4.2: a decimal-integer is never negative
        raise PlaylistError("bad playlist: negative media sequence")
    segments: list[Segment] = []
    next_offset: dict[str, int] = {}
    for seg in raw["segments"]:
        if "uri" not in seg:  # a trailing #EXTINF with no URI line
            continue
        uri = urljoin(base, seg["uri"])
        brange = _byterange(seg.get("byterange"), next_offset.get(uri, 0))
        if brange is not None:
            next_offset[uri] = brange.offset + brange.length
        key, init = _key(seg.get("key"), base), _init(seg.get("init_section"), base)
        segments.append(Segment(uri, _duration(seg["duration"]), first + len(segments), brange, key, init))
    return MediaPlaylist(
        url=base,
        segments=segments,
        target_duration=float(raw.get("targetduration") or 0),
        media_sequence=first,
        endlist=bool(raw["is_endlist"]),
        playlist_type=(raw.get("playlist_type") or "").upper() or None,
        maps=[m for m in (_init(m, base) for m in raw["segment_map"]) if m],
        keys=[k for k in (_key(k, base) for k in raw["keys"]) if k],
    )


def _byterange(value: str | None, implied_offset: int) -> ByteRange | None:
    # RFC 8216 §4.3.2.2: without "@o" the sub-range follows the previous one of the same resource.
    if not value:
        return None
    length, _, offset = value.strip().strip('"').partition("@")
    brange = ByteRange(int(length), int(offset) if offset else implied_offset)
    if brange.length < 1 or brange.offset < 0:  # §4.3.2.2: decimal-integers, and an empty range is none
        raise PlaylistError(f"bad playlist: byte range {value[:30]!r}")
    return brange


def _key(raw: dict[str, Any] | None, base: str) -> Key | None:
    method = str((raw or {}).get("method", "NONE")).upper()
    if raw is None or method == "NONE":  # RFC 8216 §4.3.2.4: METHOD=NONE ends encryption
        return None
    uri = raw.get("uri")
    return Key(method, urljoin(base, uri) if uri else None, _iv(raw.get("iv")))


def _init(raw: dict[str, Any] | None, base: str) -> InitSection | None:
    if not raw or "uri" not in raw:
        return None
    return InitSection(urljoin(base, raw["uri"]), _byterange(raw.get("byterange"), 0))


def _iv(value: str | None) -> bytes | None:
    # RFC 8216 §4.3.2.4: a hexadecimal-sequence (0x...) of a 128-bit number.
    if not value:
        return None
    digits = value.strip()[2:] if value.strip().lower().startswith("0x") else value.strip()
    if not digits or len(digits) > 32 or not re.fullmatch(r"[0-9a-fA-F]+", digits):
        raise PlaylistError(f"bad playlist: bad IV {value!r}")
    return bytes.fromhex(digits.rjust(32, "0"))


def pick_variant(master: MasterPlaylist, prefer: Literal["highest", "lowest"] = "highest") -> Variant:
    """The variant to test: the highest (or lowest) BANDWIDTH; the first one wins ties."""
    if not master.variants:
        raise PlaylistError("no variants")
    if prefer == "lowest":
        return min(master.variants, key=lambda v: v.bandwidth)
    return max(master.variants, key=lambda v: v.bandwidth)


def segment_iv(key: Key, sequence: int) -> bytes:
    """The IV for a segment: the tag's IV, else its media sequence number (RFC 8216 §5.2)."""
    return key.iv if key.iv is not None else sequence.to_bytes(16, "big")
