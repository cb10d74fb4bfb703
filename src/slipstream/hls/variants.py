"""The playlists a master names, their stable keys, and the line grammar (pure).

RFC 8216 §4.1 lines and §4.2 attribute lists (quoted strings may hold commas),
RFC 8216bis §4.4.2.3 EXT-X-DEFINE variables. A variant key is its position among playlists
of its kind plus identifying attributes, so the same variant in a freshly
tokenised or re-ordered master is found again.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urljoin, urlsplit

from slipstream.errors import PlaylistError

STREAM_INF = "EXT-X-STREAM-INF"
IFRAME_INF = "EXT-X-I-FRAME-STREAM-INF"
MEDIA = "EXT-X-MEDIA"

# A quoted value ends at a quote followed by a comma or the end, as players read it (hls.js):
# `URI="a,X="https://cdn/"` is the value `"a` and then junk, never a URI with a tail.
_ATTR = re.compile(r'(?:^|,)\s*([A-Za-z0-9-]+)\s*=\s*("[^"\r\n]*"(?=\s*(?:,|$))|[^,]*)')
# A relative path (with query) that urljoin would just append to the base directory.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_~-][^:/?#;\t]*(?:/[^/?#;\t]+)*(?:\?[^#\t]+)?\Z")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_VARIABLE = re.compile(r"\{\$([A-Za-z0-9_-]+)\}")
_KEY = re.compile(r"^([a-z]?)(\d{1,6})-([0-9a-fx-]{1,40})$")
_VARIANT_IDENTITY = re.compile(r"^(?:(\d+x\d+)-)?(\d+)$")
_MEDIA_KIND = {"AUDIO": "a", "SUBTITLES": "s", "VIDEO": "v"}
# RFC 8216 §4.1 ends lines with LF or CRLF, but ffmpeg also ends one at a lone CR and hls.js
# at CR, U+2028 and U+2029: a URI hidden behind one of them is still a line a player fetches.
_LINE_END = re.compile("(\r\n|[\n\r\u2028\u2029])")


@dataclass(frozen=True)
class Variant:
    """A playlist a master points at: a variant, an alternate rendition or an I-frame playlist."""

    key: str
    url: str
    tag: str
    index: int
    attrs: dict[str, str] = field(default_factory=dict)


def variant_key(tag: str, index: int, attrs: Mapping[str, str]) -> str:
    """A stable, path-safe key from a playlist's position and identifying attributes."""
    if tag == MEDIA:
        ident = "\n".join(attrs.get(k, "") for k in ("TYPE", "GROUP-ID", "NAME", "LANGUAGE"))
        kind = _MEDIA_KIND.get(attrs.get("TYPE", "").upper(), "m")
        return f"{kind}{index}-{hashlib.sha256(ident.encode()).hexdigest()[:8]}"
    res = re.sub(r"[^0-9x]", "", attrs.get("RESOLUTION", "").lower())[:11]
    bandwidth = re.sub(r"\D", "", attrs.get("BANDWIDTH", ""))[:12] or "0"
    prefix = "i" if tag == IFRAME_INF else ""
    identity = f"{res}-{bandwidth}" if re.fullmatch(r"\d+x\d+", res) else bandwidth
    return f"{prefix}{index}-{identity}"


def variants(master_text: str, base_url: str) -> list[Variant]:
    """Every playlist `master_text` points at, with its key and absolute upstream URL."""
    lines = split_lines(master_text)
    return list(variant_lines(lines, base_url, defined_variables(lines, base_url)).values())


def resolve_variant(master_text: str, base_url: str, key: str) -> str:
    """The current upstream URL of the variant `key`, from a possibly re-ordered master."""
    match = _KEY.match(key)
    if not match:
        raise PlaylistError(f"not a variant key: {key[:60]!r}")
    kind, index, identity = match.group(1), int(match.group(2)), match.group(3)
    same_kind = [v for v in variants(master_text, base_url) if _kind_of(v.key) == kind]
    exact = [v for v in same_kind if v.key == key]
    alike = exact or [v for v in same_kind if v.key.partition("-")[2] == identity]
    if not alike and kind in ("", "i"):
        alike = _same_resolution(same_kind, identity)
    if not alike:
        raise PlaylistError(f"variant {key} is not in the master playlist")
    return min(alike, key=lambda v: abs(v.index - index)).url


def _kind_of(key: str) -> str:
    return key[0] if key[:1].isalpha() else ""


def _same_resolution(candidates: list[Variant], identity: str) -> list[Variant]:
    """Variants of the wanted resolution, the nearest bandwidth first."""
    wanted = _VARIANT_IDENTITY.match(identity)
    if not wanted:
        return []
    res, bandwidth = wanted.group(1) or "", int(wanted.group(2))
    alike = []
    for variant in candidates:
        got = _VARIANT_IDENTITY.match(variant.key.partition("-")[2])
        if got and (got.group(1) or "") == res:
            alike.append((abs(int(got.group(2)) - bandwidth), variant))
    return [min(alike, key=lambda pair: pair[0])[1]] if alike else []


def split_lines(text: str) -> list[tuple[str, str]]:
    """Lines as (body, line end) so that every line end round-trips exactly."""
    if not text.lstrip("\ufeff \t\r\n").startswith("#EXTM3U"):
        raise PlaylistError("not an HLS playlist (no #EXTM3U)")
    parts = _LINE_END.split(text)
    return list(zip(parts[0::2], [*parts[1::2], ""], strict=True))


def tag_of(body: str) -> tuple[str, str]:
    """A tag line's name and attribute text, ("", "") for anything else; leading blanks allowed."""
    start = body.lstrip().lstrip("\ufeff")
    if not start.startswith("#EXT"):
        return "", ""
    name, _, rest = start[1:].partition(":")
    return name.strip(), rest


def parse_attributes(text: str) -> tuple[dict[str, str], tuple[int, int] | None]:
    """Attributes of an attribute list, and where the URI value sits in `text`."""
    attrs, span = {}, None
    for m in _ATTR.finditer(text):
        name, value = m.group(1).upper(), m.group(2)
        attrs[name] = value[1:-1] if len(value) > 1 and value[0] == value[-1] == '"' else value
        if name == "URI":
            span = m.span(2)
    return attrs, span


def uri_spans(text: str) -> list[tuple[int, int]]:
    """Where each URI attribute value sits in an attribute list (§4.2 allows one per list)."""
    return [m.span(2) for m in _ATTR.finditer(text) if m.group(1).upper() == "URI"]


def defined_variables(lines: list[tuple[str, str]], base_url: str) -> dict[str, str]:
    """EXT-X-DEFINE variables: NAME/VALUE, and QUERYPARAM from the playlist's own URL."""
    query = dict(parse_qsl(urlsplit(base_url).query, keep_blank_values=True))
    found: dict[str, str] = {}
    for body, _ in lines:
        if body.startswith("#EXT-X-DEFINE:"):
            attrs, _ = parse_attributes(tag_of(body)[1])
            if "NAME" in attrs and "VALUE" in attrs:
                found[attrs["NAME"]] = attrs["VALUE"]
            elif attrs.get("QUERYPARAM") in query:
                found[attrs["QUERYPARAM"]] = query[attrs["QUERYPARAM"]]
    return found


def resolve_uri(uri: str, base_url: str, defines: Mapping[str, str]) -> str | None:
    """The absolute http(s) URL of `uri`, or None for data:, skd:// and other schemes."""
    uri = uri.strip()
    if "{$" in uri:
        uri = _VARIABLE.sub(lambda m: defines.get(m.group(1), m.group(0)), uri)
    if _PLAIN_NAME.match(uri) and "/." not in uri:
        return _directory(base_url) + uri  # what urljoin gives, at a fifth of its cost
    if not uri or (_SCHEME.match(uri) and not uri.lower().startswith(("http:", "https:"))):
        return None
    try:
        url = urljoin(base_url, uri)
    except ValueError:
        return None
    return url if url.lower().startswith(("http://", "https://")) else None


@functools.lru_cache(maxsize=64)
def _directory(base_url: str) -> str:
    """The base URL up to the last slash of its path: where a plain relative name lands."""
    return urljoin(base_url, "x")[:-1]


def is_uri_line(body: str) -> bool:
    """True for a line that names a URI (not blank, not a tag or comment)."""
    stripped = body.strip().lstrip("\ufeff")  # a BOM before #EXTM3U is no URI
    return bool(stripped) and not stripped.startswith("#")


def variant_lines(
    lines: list[tuple[str, str]], base_url: str, defines: Mapping[str, str]
) -> dict[int, Variant]:
    """Line number -> the playlist that line names, in a master playlist."""
    found: dict[int, Variant] = {}
    counts: dict[str, int] = {}
    pending: dict[str, str] = {}
    for number, (body, _) in enumerate(lines):
        name, rest = tag_of(body)
        if name == STREAM_INF:
            pending = parse_attributes(rest)[0]
            continue
        if name in (MEDIA, IFRAME_INF):
            tag, attrs = name, parse_attributes(rest)[0]
            uri = attrs.get("URI")
        elif not name and is_uri_line(body):
            tag, attrs, uri, pending = STREAM_INF, pending, body, {}
        else:
            continue
        url = resolve_uri(uri, base_url, defines) if uri is not None else None
        if url:
            index = counts[tag] = counts.get(tag, -1) + 1
            found[number] = Variant(variant_key(tag, index, attrs), url, tag, index, attrs)
    return found
