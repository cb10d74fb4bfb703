"""Stable segment proxy URLs: the path survives a token change, the query carries the signature."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from slipstream.errors import ProxyDenied
from slipstream.proxy.signing import Signer
from slipstream.proxy.stable import StableSigner, stable_name

SEG = "https://cdn.example/live/720p/seg-00042.ts"


@pytest.fixture
def signer() -> StableSigner:
    return StableSigner(Signer(b"unit-test-secret-0123456789abcdef"))


def split(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    return parts.path.rpartition("/")[0], parts.path.rpartition("/")[2], parse_qs(parts.query)["t"][0]


def test_a_token_refresh_keeps_the_path_and_changes_the_query(signer: StableSigner) -> None:
    before = signer.sign("abc", SEG + "?exp=100&sig=aaa")
    after = signer.sign("abc", SEG + "?exp=200&sig=bbb")
    assert urlsplit(before).path == urlsplit(after).path == f"/proxy/abc/s/{stable_name(SEG)}.ts"
    assert split(before)[2] != split(after)[2]
    other = signer.sign("abc", "https://cdn.example/live/720p/seg-00043.ts?exp=200&sig=bbb")
    assert urlsplit(other).path != urlsplit(after).path


def test_verify_round_trips_and_checks_the_name(signer: StableSigner) -> None:
    url = SEG + "?exp=100&sig=aaa"
    _, name, token = split(signer.sign("abc", url, "ts"))
    assert signer.verify("abc", name, token) == url
    with pytest.raises(ProxyDenied, match="name does not match"):
        signer.verify("abc", stable_name("https://cdn.example/other.ts") + ".ts", token)
    with pytest.raises(ProxyDenied):
        signer.verify("xyz", name, token)  # signed for another stream


def test_the_older_layout_still_verifies(signer: StableSigner) -> None:
    path = signer.signer.sign("abc", SEG)
    assert signer.verify("abc", path.rpartition("/")[2], None) == SEG


def test_extension_comes_from_the_upstream_or_the_default(signer: StableSigner) -> None:
    assert urlsplit(signer.sign("abc", "https://cdn.example/init.mp4?x=1", "m4s")).path.endswith(".mp4")
    assert urlsplit(signer.sign("abc", "https://cdn.example/chunk?x=1", "m4s")).path.endswith(".m4s")
