"""Segment proxy URLs that stay the same when the upstream's token changes.

A signed token holds the whole upstream URL, token included, so after a token
refresh the same segment would get a new proxy path. hls.js checks that a live
playlist's segments keep their URIs across reloads (comparing them without their
query strings, as CDN tokens live there) and rejects the reload otherwise, which
ends playback. So the signed token goes in the query (`?t=`) and the path names
the upstream URL without its query:

    /proxy/{id}/s/{name}.{ext}?t={token}

The token alone decides what is fetched; `name` must match it, so each proxy URL
has one spelling. ffmpeg matches the extension on the path, ignoring the query.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from slipstream.errors import ProxyDenied
from slipstream.proxy.signing import Signer

TOKEN_PARAM = "t"


def stable_name(upstream_url: str) -> str:
    """A short name for the upstream URL without its query or fragment."""
    bare = upstream_url.partition("#")[0].partition("?")[0]
    digest = hashlib.sha256(bare.encode("utf-8", "surrogatepass")).digest()[:12]
    return base64.urlsafe_b64encode(digest).decode("ascii")


class StableSigner:
    """Signs like Signer, in the stable layout; verifies both layouts."""

    def __init__(self, signer: Signer) -> None:
        self.signer = signer

    def sign(self, stream_id: str, upstream_url: str, default_ext: str = "ts") -> str:
        """The proxy URL (path and query) for `upstream_url`."""
        path = self.signer.sign(stream_id, upstream_url, default_ext)
        head, _, last = path.rpartition("/")
        token, _, ext = last.rpartition(".")
        return f"{head}/{stable_name(upstream_url)}.{ext}?{TOKEN_PARAM}={token}"

    def verify(self, stream_id: str, name: str, token: str | None) -> str:
        """The upstream URL a proxy URL stands for, or ProxyDenied.

        With a `t` token the path's name must be that URL's stable name; without
        one, the name is itself the token (the older layout).
        """
        if token is None:
            return self.signer.verify(stream_id, name)
        upstream_url = self.signer.verify(stream_id, token)
        if not hmac.compare_digest(name.partition(".")[0], stable_name(upstream_url)):
            raise ProxyDenied("name does not match token")
        return upstream_url
