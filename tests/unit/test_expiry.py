"""Token expiry read from stream URLs, in every form CDNs write it; garbage never raises."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slipstream.tokens.expiry import refresh_due, token_expiry

T = 1_700_003_600
BASE = "https://cdn.example.com/live/f1/index.m3u8"


def b64url(data: dict[str, object] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwt(payload: dict[str, object], header: dict[str, object] | None = None) -> str:
    header = {"alg": "HS256", "typ": "JWT"} if header is None else header
    return f"{b64url(header)}.{b64url(payload)}.{b64url(b'signature-bytes')}"


def cloudfront_policy(epoch: object) -> str:
    policy = {"Statement": [{"Resource": "https://d1.example.net/*",
                             "Condition": {"DateLessThan": {"AWS:EpochTime": epoch}}}]}
    raw = base64.b64encode(json.dumps(policy).encode()).decode()
    return raw.replace("+", "-").replace("=", "_").replace("/", "~")


def amz(date: str, expires: str, prefix: str = "X-Amz") -> str:
    return (f"{BASE}?{prefix}-Algorithm=AWS4-HMAC-SHA256&{prefix}-Date={date}"
            f"&{prefix}-Expires={expires}&{prefix}-Signature=abcdef")


SIGNED_AT = datetime(2023, 11, 20, 10, 15, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(("url", "expected"), [
    (f"{BASE}?exp={T}", T),
    (f"{BASE}?token=abc&expires={T}", T),
    (f"{BASE}?e={T}&st=1700000000&h=9a8b", T),
    (f"{BASE}?EXP={T}", T),
    (f"{BASE}?exp={T}123", T + 0.123),  # milliseconds
    (f"{BASE}?exp={T}123456", T + 0.123456),  # microseconds
    (f"{BASE}?exp={T}.5", T + 0.5),
    ("https://d1.example.net/f1/index.m3u8?Expires=1700003600&Signature=abc&Key-Pair-Id=K2", T),
    (f"{BASE}?hdnts=exp={T}~acl=/live/*~hmac=0a1b2c", T),
    (f"{BASE}?hdnts=st=1700000000~exp={T}~acl=/live/*~hmac=0a1b2c", T),
    (f"{BASE}?hdnea=exp%3D{T}%7Eacl%3D%2F*%7Ehmac%3D0a1b", T),
    (f"{BASE}?__token__=exp={T}~acl=/*~hmac=0a1b", T),
    (f"{BASE}?hdntl=exp={T}~acl=/*~data=hdntl~hmac=0a1b", T),
    (amz("20231120T101500Z", "3600"), SIGNED_AT + 3600),
    (amz("20231120T101500Z", "600", prefix="X-Goog"), SIGNED_AT + 600),
    (f"{BASE}?sv=2022-11-02&se=2023-11-20T11:15:00Z&sr=b&sig=abc", SIGNED_AT + 3600),
    (f"{BASE}?Policy={cloudfront_policy(T)}&Signature=abc&Key-Pair-Id=K2", T),
    (f"{BASE}?token={jwt({'exp': T, 'sub': 'viewer'})}", T),
    (f"{BASE}?auth={jwt({'exp': str(T)})}&other=1", T),
    (f"https://cdn.example.com/v1/{jwt({'exp': T})}/index.m3u8", T),
    (f"https://cdn.example.com/live/exp={T}/index.m3u8", T),
    (f"https://cdn.example.com/hdnts=exp={T}~acl=/*~hmac=0a1b/live/index.m3u8", T),
    (f"https://cdn.example.com/live/exp={T},sig=abc/index.m3u8", T),
    (f"{BASE}?token={T}_0123456789abcdef0123", T),
    # Several tokens: the earliest decides.
    (f"{BASE}?exp={T + 600}&hdnts=exp={T}~acl=/*~hmac=00", T),
])
def test_expiry_is_read_where_the_url_says(url: str, expected: float) -> None:
    assert token_expiry(url) == pytest.approx(expected)


@pytest.mark.parametrize("url", [
    BASE,
    "",
    "not a url at all",
    f"{BASE}?exp=",
    f"{BASE}?exp=soon",
    f"{BASE}?exp=-1700003600",
    f"{BASE}?exp=300",  # a duration, not a time
    f"{BASE}?e=1",
    f"{BASE}?exp=nan",
    f"{BASE}?exp=inf",
    f"{BASE}?exp=1e400",
    f"{BASE}?exp=99999999999999999999999999999999999999",
    f"{BASE}?hdnts=acl=/*~hmac=0a1b",
    f"{BASE}?hdnts=exp=tomorrow~acl=/*",
    f"{BASE}?hdnts=~~~",
    amz("yesterday", "3600"),
    amz("20231320T101500Z", "3600"),
    amz("20231120T101500Z", "-5"),
    amz("20231120T101500Z", "9" * 400),
    f"{BASE}?X-Amz-Date=20231120T101500Z",
    f"{BASE}?se=2023-11-20T11:15:00Z",  # `se` without a SAS signature is not a SAS
    f"{BASE}?se=garbage&sig=abc",
    f"{BASE}?Policy=%%%%&Signature=x",
    f"{BASE}?Policy={cloudfront_policy('never')}",
    f"{BASE}?Policy={b64url(b'[1,2,3]')}",
    f"{BASE}?token={jwt({'exp': T}, header={'kid': 'x'})}",  # not a JWT header
    f"{BASE}?token={jwt({'exp': True})}",
    f"{BASE}?token={jwt({'exp': [T]})}",
    f"{BASE}?token={jwt({'sub': 'no exp'})}",
    f"{BASE}?token=aaaa.bbbb.cccc",
    f"{BASE}?token={b64url(b'{' * 5000)}.{b64url(b'[' * 100000)}.x",
    f"{BASE}?token=1700003600_nothex",
    "http://[::1/index.m3u8?exp=1700003600",
    "https://cdn.example.com/%ff%fe/exp=%ff?exp=%00",
])
def test_unreadable_expiry_is_none_never_an_error(url: str) -> None:
    assert token_expiry(url) is None


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_a_time_or_none(text: str) -> None:
    result = token_expiry(text)
    assert result is None or 1e9 <= result < 1e10


_value = st.one_of(st.text(max_size=30), st.integers().map(str), st.floats().map(str))
_key = st.sampled_from(["exp", "expires", "e", "hdnts", "Policy", "token", "X-Amz-Date",
                        "X-Amz-Expires", "se", "sig", "__token__"])


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(_key, _value), max_size=6), st.text(max_size=40))
def test_url_shaped_garbage_never_raises(params: list[tuple[str, str]], path: str) -> None:
    query = "&".join(f"{k}={v}" for k, v in params)
    result = token_expiry(f"https://cdn.example.com/{path}?{query}")
    assert result is None or 1e9 <= result < 1e10


NOW = 1_700_000_000.0


def test_refresh_is_due_a_margin_before_the_token_expires() -> None:
    url = f"{BASE}?exp={int(NOW) + 600}"
    assert refresh_due(url, NOW, refresh_every=240, margin=60) == NOW + 540


def test_without_a_readable_expiry_refresh_follows_the_schedule() -> None:
    assert refresh_due(BASE, NOW, refresh_every=240) == NOW + 240
    assert refresh_due(f"{BASE}?exp=garbage", NOW, refresh_every=240) == NOW + 240


def test_an_expired_token_is_due_now() -> None:
    assert refresh_due(f"{BASE}?exp={int(NOW) - 5}", NOW, refresh_every=240) == NOW


def test_a_token_shorter_than_the_margin_is_refreshed_halfway_not_in_a_loop() -> None:
    url = f"{BASE}?exp={int(NOW) + 30}"
    assert refresh_due(url, NOW, refresh_every=240, margin=60) == NOW + 15
