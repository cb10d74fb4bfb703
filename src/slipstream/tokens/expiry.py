"""When a stream URL's CDN token expires, read from the URL itself (pure).

The forms CDNs use: `exp`/`expires`/`e` query parameters (CloudFront's `Expires`
too), Akamai `hdnts`/`hdnea`/`__token__` (`exp=...~acl=...~hmac=...`), S3/SigV4
`X-Amz-Date` + `X-Amz-Expires` (GCS `X-Goog-*` alike), Azure SAS `se`, a CloudFront
custom `Policy`, a JWT's `exp` in any parameter or path segment, and path forms
like `/exp=1700000000/`. When a URL holds several, the earliest wins.
Nothing here raises on garbage: an unreadable URL has no known expiry.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

# Plausible Unix times: 2001-09-09 .. 2286-11-20. Outside it, a number is a
# duration, a counter or a millisecond/microsecond stamp.
_MIN_TS, _MAX_TS = 1e9, 1e10
_EXPIRY_KEYS = frozenset({"exp", "expires", "expire", "expiry", "expiration", "e", "validto"})
_AKAMAI_KEYS = frozenset({"hdnts", "hdnea", "hdntl", "__token__", "token", "authtoken"})
_JWT = re.compile(r"^[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*$")
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
# Fastly-style `token=<expiry>_<hmac>`.
_STAMPED_TOKEN = re.compile(r"^(\d{10,13})_[0-9A-Fa-f]{16,}$")


def token_expiry(url: str) -> float | None:
    """The Unix time `url`'s token expires, or None when the URL does not say."""
    try:
        found = [t for t in _candidates(url) if t is not None]
    except (ValueError, TypeError, AttributeError, OverflowError):  # urls are user data
        return None
    return min(found) if found else None


def refresh_due(url: str, now: float, refresh_every: float, margin: float = 60.0) -> float:
    """When to refresh `url`: `margin` before its token expires, else now + refresh_every.

    A token that lives less than twice `margin` is refreshed halfway through its
    remaining life instead, so a short-lived token is not refreshed in a tight loop.
    """
    expiry = token_expiry(url)
    if expiry is None:
        return now + refresh_every
    if expiry <= now:
        return now
    return max(expiry - margin, now + (expiry - now) / 2)


def _candidates(url: str) -> Iterator[float | None]:
    parts = urlsplit(url)
    params = parse_qsl(parts.query, keep_blank_values=True)
    lowered = {k.lower(): v for k, v in params}
    for key, value in params:
        yield from _from_param(key.lower(), value)
    yield _amz(lowered, "x-amz-date", "x-amz-expires")
    yield _amz(lowered, "x-goog-date", "x-goog-expires")
    if "sig" in lowered and "se" in lowered:
        yield _iso(lowered["se"])
    for segment in parts.path.split("/"):
        yield from _from_path_segment(unquote(segment))


def _from_param(key: str, value: str) -> Iterator[float | None]:
    if key in _EXPIRY_KEYS:
        yield _unix(value)
    if key in _AKAMAI_KEYS:
        yield _akamai(value)
    if key == "policy":
        yield _cloudfront_policy(value)
    if key == "token" and (match := _STAMPED_TOKEN.match(value)):
        yield _unix(match.group(1))
    if _JWT.match(value):
        yield _jwt(value)


def _from_path_segment(segment: str) -> Iterator[float | None]:
    if _JWT.match(segment):
        yield _jwt(segment)
    for field in re.split(r"[,;]", segment):
        key, sep, value = field.partition("=")
        if sep:
            yield from _from_param(key.lower(), value)


def _unix(value: str) -> float | None:
    """Unix seconds; milliseconds and microseconds are scaled down."""
    try:
        stamp = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(stamp) or stamp <= 0:
        return None
    while stamp >= _MAX_TS:
        stamp /= 1000.0
    return _plausible(stamp)


def _plausible(stamp: float) -> float | None:
    return stamp if _MIN_TS <= stamp < _MAX_TS else None


def _akamai(value: str) -> float | None:
    """Akamai's `st=...~exp=...~acl=...~hmac=...` (fields may come in any order)."""
    for field in value.split("~"):
        key, _, stamp = field.partition("=")
        if key.strip().lower() == "exp":
            return _unix(stamp)
    return None


def _amz(params: dict[str, str], date_key: str, expires_key: str) -> float | None:
    """SigV4-style: a signing time and a lifetime in seconds."""
    if date_key not in params or expires_key not in params:
        return None
    try:
        signed = datetime.strptime(params[date_key].strip(), _AMZ_DATE).replace(tzinfo=UTC)
        lifetime = int(params[expires_key].strip())
    except ValueError:
        return None
    return _plausible(signed.timestamp() + lifetime) if 0 <= lifetime <= 10**9 else None


def _iso(value: str) -> float | None:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return _plausible(moment.replace(tzinfo=moment.tzinfo or UTC).timestamp())


def _json_b64(text: str, altchars: bytes = b"-_") -> Any:
    """JSON inside base64 (padding optional), or None."""
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=altchars)
        return json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        return None


def _jwt(token: str) -> float | None:
    """A JWT's `exp` claim, when the first part really is a JWT header."""
    header_b64, payload_b64, _ = token.split(".", 2)
    header = _json_b64(header_b64)
    if not isinstance(header, dict) or not ({"alg", "typ"} & header.keys()):
        return None
    payload = _json_b64(payload_b64)
    exp = payload.get("exp") if isinstance(payload, dict) else None
    if isinstance(exp, bool) or not isinstance(exp, int | float | str):
        return None
    return _unix(str(exp))


def _cloudfront_policy(value: str) -> float | None:
    """CloudFront custom policy: Statement[0].Condition.DateLessThan."AWS:EpochTime"."""
    # CloudFront's URL-safe base64 swaps + = / for - _ ~.
    policy = _json_b64(value.replace("_", "=").rstrip("="), altchars=b"-~")
    try:
        stamp = policy["Statement"][0]["Condition"]["DateLessThan"]["AWS:EpochTime"]
    except (TypeError, KeyError, IndexError):
        return None
    return _unix(str(stamp)) if isinstance(stamp, int | float | str) else None
