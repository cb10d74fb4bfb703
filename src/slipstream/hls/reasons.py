"""The health check's reason strings, and the pure judgements behind them.

Reasons are short and stable: users filter on them and tests assert them.

    ok                          live: media bytes in the newest segment, playlist moving
    http <status>               the playlist (also "variant ", "reload ", "segment ",
                                "key ", "init " + "http <status>" for the later fetches)
    not a playlist, bad playlist, no variants, variant is a master playlist,
    playlist too large, no segments, vod, stale, timeout,
    segment not media, init not media, decrypt failed, segment range ignored,
    too many redirects, private address refused, bad url,
    connection failed: <refused|dns|tls|disconnected|...>, error: <ExceptionClass>
"""

from __future__ import annotations

import aiohttp

from slipstream.errors import PlaylistError, ProxyDenied
from slipstream.hls.playlist import MediaPlaylist, Segment, segment_iv
from slipstream.hls.sniff import decrypt_prefix, is_text, sniff_media


class Failed(Exception):
    """A check that stopped with a reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def failure_reason(exc: BaseException) -> str:
    """The short, stable reason string for an exception raised during a check."""
    if isinstance(exc, Failed):
        return exc.reason
    if isinstance(exc, ProxyDenied):
        return "private address refused"
    if isinstance(exc, PlaylistError):
        return str(exc).split(":", 1)[0]
    if isinstance(exc, aiohttp.TooManyRedirects):
        return "too many redirects"
    if isinstance(exc, TimeoutError):  # aiohttp's timeouts subclass it too
        return "timeout"
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return "bad url"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"connection failed: {_os_error(exc.os_error)}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "connection failed: disconnected"
    if isinstance(exc, aiohttp.ClientError):
        return f"connection failed: {type(exc).__name__}"
    return f"error: {type(exc).__name__}"


def _os_error(err: OSError) -> str:
    if isinstance(err, ConnectionRefusedError):
        return "refused"
    if type(err).__name__ == "gaierror":
        return "dns"
    return "tls" if "ssl" in type(err).__module__.lower() else (err.strerror or type(err).__name__).lower()


def judge_segment(seg: Segment, data: bytes, key: bytes | None) -> str | None:
    """Why the first bytes of `seg` are not media (None when they are); `key` under AES-128."""
    if key is None:  # clear, or SAMPLE-AES whose container stays in the clear (RFC 8216 §4.3.2.4)
        return None if sniff_media(data) else "segment not media"
    if is_text(data):  # an error page served with 200 is not a decryption problem
        return "segment not media"
    assert seg.key is not None
    plain = decrypt_prefix(data, key, segment_iv(seg.key, seg.sequence))
    return None if sniff_media(plain) else "decrypt failed"


def judge_init(seg: Segment, data: bytes, key: bytes | None) -> str | None:
    """Why an EXT-X-MAP section is not media; it may be encrypted too (RFC 8216 §4.3.2.5)."""
    if sniff_media(data):
        return None
    if key is None or seg.key is None or is_text(data):
        return "init not media"
    plain = decrypt_prefix(data, key, seg.key.iv or bytes(16))
    return None if sniff_media(plain) else "init not media"


def playlist_advanced(old: MediaPlaylist, new: MediaPlaylist) -> bool:
    # RFC 8216 §6.2.2: a live playlist gains segments and removes old ones by advancing the sequence.
    if not new.segments:
        return False
    return new.last_sequence > old.last_sequence or new.segments[-1].uri != old.segments[-1].uri
