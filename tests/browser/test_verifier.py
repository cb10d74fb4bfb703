"""The playback verifier in real headless Chromium against the local origin's real H.264/AAC HLS."""

from __future__ import annotations

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
    "segments-404": ("/~seg404/live/master.m3u8", {}, "fragLoadError (http 404)"),
    "garbage-segments": ("/~garbage/live/master.m3u8", {}, "fragParsingError"),
    "html-playlist": ("/~html/live/master.m3u8", {}, "manifestParsingError"),
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def verdicts(
    verifier: PlaybackVerifier, origin: TestOrigin
) -> tuple[dict[str, Verdict], list[Verdict]]:
    """All HLS cases verified in one verify_many run (duplicates included), plus progress calls."""
    items = [(origin.url(path), headers, "hls") for path, headers, _ in CASES.values()
             if path != "/~referer/live/master.m3u8"]
    # Two cases share a URL with different headers: verify_many is keyed by URL, so run
    # the Referer pair through verify() below instead.
    items.append(items[0])  # a duplicate URL is verified once
    seen: list[Verdict] = []
    results = await verifier.verify_many(items, seen.append)
    for name in ("referer-sent", "referer-missing"):
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
    # Chromium here cannot decode HEVC: hls.js cannot add the codec, or audio plays on alone.
    verdict = await verifier.verify(origin.url("/live/hevc/index.m3u8"))
    assert not verdict.is_playable
    assert verdict.reason in ("bufferAddCodecError", "no frames decoded")


async def test_connection_refused_is_not_playable(verifier: PlaybackVerifier) -> None:
    url = f"http://127.0.0.1:{closed_port()}/live/master.m3u8"
    verdict = await verifier.verify(url)
    assert verdict == Verdict(url, False, None, "manifestLoadError (connection refused)")


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
