"""Signed, short-lived proxy URLs for segments, keys, init sections and parts (pure).

A proxy URL carries its upstream URL inside an HMAC-signed token, so the proxy
fetches only what one of its own rewritten playlists handed out: never an open proxy.

Token bytes, base64url without padding:
    mac (16) | format (1) | expiry (4, big-endian Unix seconds) | body
where body is the UTF-8 upstream URL, raw or raw-deflated with a preset
dictionary (whichever is shorter), and mac = HMAC-SHA256(secret, stream id,
format, expiry, body) cut to 128 bits.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import math
import os
import re
import secrets
import struct
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from slipstream.errors import ConfigError, ProxyDenied

log = logging.getLogger(__name__)

_MAC_BYTES = 16
_HEADER = struct.Struct(">BI")
_RAW, _DEFLATE = 1, 2
_MAX_TOKEN_CHARS = 16_384
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_-]+")
_MAX_URL_BYTES = 8_192
# Small window and memory level: URLs are short, and a full-size deflate state
# costs 3x the time to set up (measured 12 us against 4.5 us per URL).
_WBITS, _MEM_LEVEL = -11, 4
# Fragments common in CDN URLs. Part of the token format: changing it
# invalidates live tokens, which only matters for the TTL of one deploy.
_ZDICT = (
    b"Key-Pair-Id=&Policy=&Signature=X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
    b"&X-Amz-Date=&X-Amz-Expires=&X-Amz-SignedHeaders=host&X-Amz-Signature="
    b"hdnts=exp=~acl=/*~hmac=?token=&expires=&exp=&sig=/index_playlist_chunk_segment"
    b"/live/hls/video/audio/1080p/720p/.m3u8.m4s.mp4.aac.key.ts?https://http://"
)

# Extensions players accept for what a proxy URL points at (ffmpeg's HLS demuxer
# checks segment URLs against a list much like this one).
MEDIA_EXTENSIONS = frozenset(
    {
        "ts", "m2ts", "mts", "mpegts", "m4s", "mp4", "m4v", "m4a", "mp3", "aac", "ac3",
        "ec3", "eac3", "flac", "cmfv", "cmfa", "cmft", "fmp4", "mov", "3gp", "vtt",
        "webvtt", "key", "m3u8",
    }
)


def url_extension(url: str, default: str) -> str:
    """The upstream path's own extension when players know it, else `default` (no dot)."""
    path = url.partition("?")[0].partition("#")[0]
    name = path.partition("://")[2].partition("/")[2].rpartition("/")[2] if "://" in path else ""
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    return ext if ext in MEDIA_EXTENSIONS else default


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    # The decoder would skip stray characters; a token is only ever the bare alphabet.
    if not _TOKEN_CHARS.fullmatch(text):
        raise ProxyDenied("malformed")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ProxyDenied("malformed") from exc
    if _b64encode(raw) != text:  # stray low bits in the last character: one token, one spelling
        raise ProxyDenied("malformed")
    return raw


def _deflate(data: bytes) -> bytes:
    comp = zlib.compressobj(9, zlib.DEFLATED, _WBITS, _MEM_LEVEL, zlib.Z_DEFAULT_STRATEGY, _ZDICT)
    return comp.compress(data) + comp.flush()


def _inflate(data: bytes) -> bytes:
    decomp = zlib.decompressobj(_WBITS, zdict=_ZDICT)
    try:
        out = decomp.decompress(data, _MAX_URL_BYTES)
    except zlib.error as exc:
        raise ProxyDenied("malformed") from exc
    if decomp.unconsumed_tail or not decomp.eof:
        raise ProxyDenied("malformed")
    return out


class Signer:
    """Makes and checks signed proxy URLs with the server's secret."""

    def __init__(
        self,
        secret: bytes,
        ttl: float = 3600.0,
        clock: Callable[[], float] = time.time,
        granularity: float = 60.0,
    ) -> None:
        if not secret:
            raise ValueError("the signing secret must not be empty")
        self._secret = secret
        self.ttl = ttl
        self._clock = clock
        # Expiry rounded up to a whole step: a segment keeps one proxy URL across
        # the reloads of that step, so it stays cacheable and signing it is cached.
        self._step = max(1.0, granularity)
        self._cache: dict[tuple[str, str, str], tuple[int, str]] = {}

    def sign(self, stream_id: str, upstream_url: str, default_ext: str = "ts") -> str:
        """The path of a proxy URL for `upstream_url`: /proxy/{id}/s/{token}.{ext}."""
        expiry = math.ceil((self._clock() + self.ttl) / self._step) * self._step
        expiry = int(min(expiry, 0xFFFFFFFF))
        cache_key = (stream_id, upstream_url, default_ext)
        hit = self._cache.get(cache_key)
        if hit is not None and hit[0] == expiry:
            return hit[1]
        token = self._token(stream_id, expiry, upstream_url)
        ext = url_extension(upstream_url, default_ext)
        path = f"/proxy/{quote(stream_id, safe='')}/s/{token}.{ext}"
        if len(self._cache) >= 20_000:
            self._cache.clear()
        self._cache[cache_key] = (expiry, path)
        return path

    def verify(self, stream_id: str, token: str) -> str:
        """The upstream URL inside `token` (an extension after it is ignored), or ProxyDenied."""
        token = token.partition(".")[0]
        if not token or len(token) > _MAX_TOKEN_CHARS:
            raise ProxyDenied("malformed")
        raw = _b64decode(token)
        if len(raw) < _MAC_BYTES + _HEADER.size:
            raise ProxyDenied("malformed")
        mac, signed = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
        if not hmac.compare_digest(mac, self._mac(stream_id, signed)):
            raise ProxyDenied("bad signature")
        fmt, expiry = _HEADER.unpack_from(signed)
        if expiry < self._clock():
            raise ProxyDenied("expired")
        return self._body(fmt, signed[_HEADER.size :])

    def _token(self, stream_id: str, expiry: int, url: str) -> str:
        body = url.encode("utf-8")
        packed = _deflate(body)
        fmt, body = (_DEFLATE, packed) if len(packed) < len(body) else (_RAW, body)
        signed = _HEADER.pack(fmt, expiry) + body
        return _b64encode(self._mac(stream_id, signed) + signed)

    def _mac(self, stream_id: str, signed: bytes) -> bytes:
        sid = stream_id.encode("utf-8", "surrogatepass")
        message = struct.pack(">H", len(sid) & 0xFFFF) + sid + signed
        return hmac.digest(self._secret, message, hashlib.sha256)[:_MAC_BYTES]

    @staticmethod
    def _body(fmt: int, body: bytes) -> str:
        if fmt == _DEFLATE:
            body = _inflate(body)
        elif fmt != _RAW:
            raise ProxyDenied("malformed")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProxyDenied("malformed") from exc


def load_or_create_secret(data_dir: Path, configured: str) -> bytes:
    """The configured secret, else one generated once and kept in data_dir/secret (0600)."""
    if configured:
        return configured.encode("utf-8")
    path = data_dir.expanduser() / "secret"
    try:
        if not path.exists():
            _create_secret(path)
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)  # someone loosened it: the secret signs every proxy URL
        secret = path.read_bytes().strip()
    except OSError as exc:
        raise ConfigError(str(path), "server.secret", f"cannot keep a secret here: {exc}") from exc
    if len(secret) < 16:
        raise ConfigError(str(path), "server.secret", "the stored secret is too short; delete it")
    return secret


def _create_secret(path: Path) -> None:
    """Write a fresh secret without ever exposing a partial or world-readable file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".secret.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
        try:
            os.link(tmp, path)  # fails if another process won the race: keep theirs
            log.info("generated a proxy signing secret in %s", path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)
