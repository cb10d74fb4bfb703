"""Rewrite HLS playlists so that every URI in them points back at the proxy (pure).

Line-based on purpose: a line without a URI leaves byte for byte as it came,
and in a tag only the value of its `URI` attribute changes (RFC 8216 §4.2
attribute lists; quoted strings may hold commas). URIs are resolved against
the playlist's final URL (§4.1), after `EXT-X-DEFINE` variable substitution.

Playlists (variants, renditions, I-frame playlists) become stable variant
addresses `/proxy/{id}/v/{key}.m3u8`, re-resolved against the freshest master
on every reload; everything else (segments, parts, keys, init sections) becomes
a signed, short-lived `/proxy/{id}/s/{token}.{ext}`.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from slipstream.errors import PlaylistError
from slipstream.hls.variants import (
    Variant,
    defined_variables,
    is_uri_line,
    parse_attributes,
    resolve_uri,
    resolve_variant,
    split_lines,
    tag_of,
    uri_spans,
    variant_key,
    variant_lines,
    variants,
)
from slipstream.proxy.signing import Signer
from slipstream.urls import strip_query

__all__ = [
    "Variant", "resolve_variant", "rewrite_master", "rewrite_media", "variant_key", "variants",
]

# Tags whose URI attribute is rewritten, and what it points at.
_MASTER_ROLES = {
    "EXT-X-SESSION-KEY": "key", "EXT-X-KEY": "key", "EXT-X-SESSION-DATA": "data",
}
_MEDIA_ROLES = {
    "EXT-X-KEY": "key", "EXT-X-SESSION-KEY": "key", "EXT-X-MAP": "map", "EXT-X-PART": "part",
    "EXT-X-PRELOAD-HINT": "part", "EXT-X-RENDITION-REPORT": "rendition",
}
_DEFAULT_EXT = {"key": "key", "map": "mp4", "data": "json"}
# Steering would send players to upstream pathways and hosts: the proxy is the only pathway.
_DROPPED_TAGS = frozenset({"EXT-X-CONTENT-STEERING"})


def rewrite_master(
    text: str, base_url: str, stream_id: str, signer: Signer, *, prefix: str = ""
) -> str:
    """`text` with every variant, rendition and key URI pointing at the proxy."""
    rewriter = _Rewriter(text, base_url, stream_id, signer, prefix, master=True)
    return rewriter.run()


def rewrite_media(
    text: str,
    base_url: str,
    stream_id: str,
    signer: Signer,
    *,
    renditions: Sequence[Variant] = (),
    prefix: str = "",
) -> str:
    """`text` with every segment, part, key and map URI signed through the proxy.

    `renditions` (from `variants()` of the master) turn rendition reports into
    variant addresses; a report on a playlist not among them is dropped.
    """
    rewriter = _Rewriter(text, base_url, stream_id, signer, prefix, master=False)
    rewriter.renditions = {strip_query(v.url): v.key for v in renditions}
    return rewriter.run()


class _Rewriter:
    """One pass over a playlist's lines, turning each URI into a proxy address."""

    def __init__(
        self, text: str, base_url: str, stream_id: str, signer: Signer, prefix: str, master: bool
    ) -> None:
        if not base_url.lower().startswith(("http://", "https://")):
            raise PlaylistError("a playlist's base URL must be an absolute http(s) URL")
        self.lines = split_lines(text)
        self.base_url, self.stream_id, self.signer = base_url, stream_id, signer
        self.prefix = prefix.rstrip("/")
        self.master = master
        self.defines = defined_variables(self.lines, base_url)
        self.variants = variant_lines(self.lines, base_url, self.defines) if master else {}
        self.renditions: dict[str, str] = {}
        self.fmp4 = False

    def run(self) -> str:
        out = (self._line(number, body) for number, (body, _) in enumerate(self.lines))
        return "".join(
            line + end for line, (_, end) in zip(out, self.lines, strict=True) if line is not None
        )

    def _line(self, number: int, body: str) -> str | None:
        name, rest = tag_of(body)
        if name and name != "EXTINF" and len(uri_spans(rest)) > 1:
            return None  # §4.2: no attribute repeats; the URI left unrewritten would reach the player
        if number in self.variants:
            path = self._variant_path(self.variants[number].key)
            return self._with_uri(body, rest, parse_attributes(rest)[1], path) if name else path
        if name:
            return self._tag_line(body, name, rest)
        if not is_uri_line(body):
            return body
        url = resolve_uri(body, self.base_url, self.defines)
        return self._sign(url, self._media_ext()) if url else body

    def _tag_line(self, body: str, name: str, rest: str) -> str | None:
        if name in _DROPPED_TAGS:
            return None
        if name == "EXTINF":  # the title is free text, not an attribute list
            return body
        if name == "EXT-X-DEFINE" and (pinned := self._define_line(body, rest)) != body:
            return pinned
        if name == "EXT-X-MAP":
            self.fmp4 = True
        # Any other tag's URI (misplaced, unknown, vendor) is signed too: none leaves unproxied.
        role = (_MASTER_ROLES if self.master else _MEDIA_ROLES).get(name, "other")
        return self._uri_tag(body, rest, role)

    def _define_line(self, body: str, rest: str) -> str:
        """Pin a QUERYPARAM variable to its value: proxy URLs lack the upstream query (§4.4.2.3)."""
        name = parse_attributes(rest)[0].get("QUERYPARAM", "")
        value = self.defines.get(name)
        if value is None or '"' in value or "\r" in value or "\n" in value:
            return body
        return f'#EXT-X-DEFINE:NAME="{name}",VALUE="{value}"'

    def _uri_tag(self, body: str, rest: str, role: str) -> str | None:
        attrs, span = parse_attributes(rest)
        url = resolve_uri(attrs["URI"], self.base_url, self.defines) if span else None
        if url is None:
            return body
        if role == "rendition":
            key = self.renditions.get(strip_query(url))
            return self._with_uri(body, rest, span, self._variant_path(key)) if key else None
        if role == "part":
            role = "map" if attrs.get("TYPE", "").upper() == "MAP" else role
        ext = _DEFAULT_EXT.get(role) or self._media_ext()
        return self._with_uri(body, rest, span, self._sign(url, ext))

    @staticmethod
    def _with_uri(body: str, rest: str, span: tuple[int, int] | None, new_uri: str) -> str:
        """`body` with the URI value at `span` of its attribute list `rest` replaced."""
        if span is None:
            return body
        start, end = span
        quote_mark = '"' if rest[start:start + 1] == '"' else ""
        offset = len(body) - len(rest)
        return f"{body[:offset + start]}{quote_mark}{new_uri}{quote_mark}{body[offset + end:]}"

    def _media_ext(self) -> str:
        return "m4s" if self.fmp4 else "ts"

    def _sign(self, url: str, ext: str) -> str:
        return self.prefix + self.signer.sign(self.stream_id, url, ext)

    def _variant_path(self, key: str) -> str:
        return f"{self.prefix}/proxy/{quote(self.stream_id, safe='')}/v/{key}.m3u8"
