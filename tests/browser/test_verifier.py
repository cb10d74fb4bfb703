"""The playback verifier in real headless Chromium against the local origin's real H.264/AAC HLS."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
import pytest_asyncio
from browser_support import closed_port, make_verifier

from origin import TestOrigin
from slipstream.http import AddressGuard
from slipstream.models import Verdict
from slipstream.playback import PlaybackVerifier

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

REFERER = TestOrigin.REFERER
# name: (path, headers, expected reason); reason "playing" means playable.
CASES: dict[str, tuple[str, dict[str, str], str]] = {
    "ts": ("/live/ts360/index.m3u8", {}, "playing"),
    "fmp4": ("/live/master-fmp4.m3u8", {}, "playing"),
    "master": ("/live/master.m3u8", {}, "playing"),
    "aes128": ("/live/master-aes.m3u8", {}, "playing"),
    "audio-rendition": ("/live/master-audio.m3u8", {}, "playing"),
    "redirected": ("/~redirect=2/live/master.m3u8", {}, "playing"),
    "referer-sent": ("/~referer/live/master.m3u8", {"Referer": REFERER}, "playing"),
    "user-agent-sent": ("/~ua/live/ts360/index.m3u8",
                        {"User-Agent": TestOrigin.USER_AGENT}, "playing"),
    "referer-missing": ("/~referer/live/master.m3u8", {}, "manifestLoadError (http 403)"),
    # ~referer covers everything below it: playlists, segments and the AES-128 key.
    "referer-aes-sent": ("/~referer/live/master-aes.m3u8", {"Referer": REFERER}, "playing"),
    "referer-aes-missing": ("/~referer/live/master-aes.m3u8", {}, "manifestLoadError (http 403)"),
    "segments-404": ("/~seg404/live/master.m3u8", {}, "fragLoadError (http 404)"),
    "garbage-segments": ("/~garbage/live/master.m3u8", {}, "fragParsingError"),
    "html-playlist": ("/~html/live/master.m3u8", {}, "manifestParsingError"),
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def verdicts(
    verifier: PlaybackVerifier, origin: TestOrigin
) -> tuple[dict[str, Verdict], list[Verdict]]:
    """All HLS cases verified in one verify_many run (duplicates included), plus progress calls."""
    items = [(origin.url(path), headers, "hls") for name, (path, headers, _) in CASES.items()
             if not name.startswith("referer")]
    # Referer pairs share a URL with different headers: verify_many is keyed by URL, so run
    # them through verify() below instead.
    items.append(items[0])  # a duplicate URL is verified once
    seen: list[Verdict] = []
    results = await verifier.verify_many(items, seen.append)
    for name in [n for n in CASES if n.startswith("referer")]:
        path, headers, _ = CASES[name]
        results[name] = await verifier.verify(origin.url(path), headers)
    return results, seen


def _verdict(results: dict[str, Verdict], origin: TestOrigin, name: str) -> Verdict:
    path = CASES[name][0]
    return results[name] if name in results else results[origin.url(path)]


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c[2] == "playing"])
async def test_playable_streams_decode_frames(
    verdicts: tuple[dict[str, Verdict], list[Verdict]], origin: TestOrigin, name: str
) -> None:
    verdict = _verdict(verdicts[0], origin, name)
    assert (verdict.is_playable, verdict.reason) == (True, "playing")
    assert verdict.elapsed_ms is not None and 0 < verdict.elapsed_ms < 15_000


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c[2] != "playing"])
async def test_broken_streams_fail_with_hls_js_reason(
    verdicts: tuple[dict[str, Verdict], list[Verdict]], origin: TestOrigin, name: str
) -> None:
    verdict = _verdict(verdicts[0], origin, name)
    assert (verdict.is_playable, verdict.reason) == (False, CASES[name][2])
    assert verdict.elapsed_ms is None


async def test_verify_many_reports_each_url_once(
    verdicts: tuple[dict[str, Verdict], list[Verdict]], origin: TestOrigin
) -> None:
    results, seen = verdicts
    urls = {origin.url(p) for n, (p, _, _) in CASES.items() if not n.startswith("referer")}
    assert {v.url for v in seen} == urls
    assert len(seen) == len(urls)  # the duplicate was not played twice
    assert urls <= results.keys()


async def test_hevc_is_not_playable(verifier: PlaybackVerifier, origin: TestOrigin) -> None:
    if not origin.media.hevc_available:
        pytest.skip("ffmpeg has no libx265: the origin has no HEVC rendition")
    # A media playlist carries no CODECS: hls.js finds HEVC in the TS and Chromium's
    # MediaSource refuses the SourceBuffer for it.
    verdict = await verifier.verify(origin.url("/live/hevc/index.m3u8"))
    assert verdict == Verdict(verdict.url, False, None, "bufferAddCodecError")


async def test_hevc_variant_is_skipped_for_the_h264_one_in_a_master(
    verifier: PlaybackVerifier, origin: TestOrigin
) -> None:
    if not origin.media.hevc_available:
        pytest.skip("ffmpeg has no libx265: the origin has no HEVC master")
    # The master's CODECS="hvc1..." lets hls.js drop that variant before loading it (its
    # MediaSource.isTypeSupported check) and play the H.264 one: a viewer would see video too.
    verdict = await verifier.verify(origin.url("/~id=hevc-master/live/master-hevc.m3u8"))
    assert (verdict.is_playable, verdict.reason) == (True, "playing")
    assert origin.hits("/~id=hevc-master/live/hevc/") == 0
    assert origin.hits("/~id=hevc-master/live/ts360/") > 1


async def test_connection_refused_is_not_playable(verifier: PlaybackVerifier) -> None:
    url = f"http://127.0.0.1:{closed_port()}/live/master.m3u8"
    verdict = await verifier.verify(url)
    assert verdict == Verdict(url, False, None, "manifestLoadError (connection refused)")


@pytest.mark.parametrize(("path", "reason"), [
    # One variant: with a master, hls.js may give up sooner by switching to the other level.
    ("/~seg404/~id=fast/live/ts360/index.m3u8", "fragLoadError (http 404)"),
    (None, "manifestLoadError (connection refused)"),
])
async def test_failures_are_decided_in_a_few_seconds(
    verifier: PlaybackVerifier, origin: TestOrigin, path: str | None, reason: str
) -> None:
    # hls.js's stock fragment policy retries a 404 for ~32 s before it is fatal.
    assert verifier.host is not None
    await verifier.host.get()  # launching is not the check's time
    url = origin.url(path) if path else f"http://127.0.0.1:{closed_port()}/live/master.m3u8"
    started = time.monotonic()
    verdict = await verifier.verify(url)
    took = time.monotonic() - started
    assert (verdict.is_playable, verdict.reason) == (False, reason)
    assert took < 8.0, f"{reason} took {took:.1f} s"


async def test_aes128_key_request_carries_the_sources_headers(
    verifier: PlaybackVerifier, origin: TestOrigin
) -> None:
    # Playlist and segments open to all, only the key behind ~referer: the key request itself
    # must carry the Referer.
    async with aiohttp.ClientSession() as http, http.get(origin.url("/vod/aes/index.m3u8")) as r:
        playlist = await r.text()
    assert 'URI="key.key"' in playlist
    url = origin.serve_text("/vod/aes/referer-key.m3u8", playlist.replace(
        'URI="key.key"', 'URI="/~referer/vod/aes/key.key"'), "application/vnd.apple.mpegurl")
    with_referer = await verifier.verify(url, {"Referer": REFERER})
    assert (with_referer.is_playable, with_referer.reason) == (True, "playing")
    assert await verifier.verify(url) == Verdict(url, False, None, "keyLoadError (http 403)")


async def test_at_most_concurrency_contexts_are_open_at_once(origin: TestOrigin) -> None:
    bounded = make_verifier(concurrency=2)
    urls = [origin.url(f"/many/{i}/index.m3u8") for i in range(6)]
    most = 0

    async def sample() -> None:
        nonlocal most
        while True:
            most = max(most, bounded.open_contexts())
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    try:
        verdicts = await bounded.verify_many([(u, {}, "hls") for u in urls])
    finally:
        sampler.cancel()
        await bounded.close()
    assert {u: v.reason for u, v in verdicts.items()} == dict.fromkeys(urls, "playing")
    assert most == 2


async def test_not_a_web_url_is_refused_without_a_browser(verifier: PlaybackVerifier) -> None:
    verdict = await verifier.verify("file:///etc/passwd")
    assert verdict == Verdict("file:///etc/passwd", False, None, "not an http(s) URL")


async def test_no_context_is_left_open_after_checks(
    verdicts: tuple[dict[str, Verdict], list[Verdict]], verifier: PlaybackVerifier
) -> None:
    assert verifier.host is not None and verifier.host.browser is not None
    assert verifier.open_contexts() == 0


async def test_guard_keeps_a_hostile_playlist_off_other_addresses(origin: TestOrigin) -> None:
    port = int(origin.base_url.rsplit(":", 1)[1])
    guarded = make_verifier()
    guarded.guard = AddressGuard(exempt=[("127.0.0.1", port)])  # only the origin itself
    elsewhere = f"http://localhost:{port}/live/ts360/index.m3u8"
    hostile = origin.serve_text("/hostile/master.m3u8", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,"
                                f"RESOLUTION=640x360\n{elsewhere}\n", "application/vnd.apple.mpegurl")
    fine = origin.url("/live/master.m3u8")
    try:
        verdicts = await guarded.verify_many([(u, {}, "hls") for u in (fine, hostile, elsewhere)])
    finally:
        await guarded.close()
    assert {u: v.reason for u, v in verdicts.items()} == {
        fine: "playing",
        hostile: "levelLoadError (private address refused)",
        elsewhere: "manifestLoadError (private address refused)",
    }


async def test_redirected_playlist_resolves_uris_against_its_final_url(
    verifier: PlaybackVerifier, origin: TestOrigin
) -> None:
    verdict = await verifier.verify(origin.url("/~redirect=1/~id=rebase/live/master.m3u8"))
    assert (verdict.is_playable, verdict.reason) == (True, "playing")
    assert origin.hits("/~redirect=1/~id=rebase/") == 1  # only the master went through it
    assert origin.hits("/~id=rebase/live/ts360/") > 2  # variant and segments: the final folder
