"""Canonical URLs and stable stream ids (pure).

Sources list one stream under many events and CDNs rotate tokens in the query
string; the canonical form drops what changes so the same stream gets one id.
"""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that carry CDN tokens, signatures or expiry times.
TOKEN_PARAMS = frozenset(
    {
        "token", "tok", "auth", "auth_key", "authkey", "hdnts", "hdnea", "hdntl",
        "exp", "expires", "e", "st", "sig", "signature", "s", "hash", "h", "md5",
        "key-pair-id", "policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date",
        "x-amz-expires", "x-amz-signedheaders", "x-amz-signature", "x-amz-security-token",
        "wmsauthsign", "jwt", "access_token", "session", "sessionid", "nimblesessionid",
        "validfrom", "validto", "starttime", "endtime", "ttl", "_", "t", "ts",
    }
)

_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str) -> str:
    """Normalise `url`: lower-case scheme and host, drop default port, fragment and tokens."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{host}:{port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k.lower() not in TOKEN_PARAMS]
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))


def stream_id(site_key: str, url: str) -> str:
    """A stable 16-hex id from the source key and the canonical URL."""
    digest = hashlib.sha256(f"{site_key}\n{canonical_url(url)}".encode()).hexdigest()
    return digest[:16]


def strip_query(url: str) -> str:
    """`url` without its query string, for logs (tokens live there)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def add_query(url: str, pairs: list[tuple[str, str]]) -> str:
    """`url` with `pairs` appended to its query string (fragment dropped); unchanged if none."""
    if not pairs:
        return url
    base = url.partition("#")[0]
    return f"{base}{'&' if '?' in base else '?'}{urlencode(pairs)}"
