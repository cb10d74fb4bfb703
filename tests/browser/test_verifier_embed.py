"""Embed pages in real Chromium: a <video> in any frame must decode frames and advance."""

from __future__ import annotations

import pytest
import pytest_asyncio
from browser_support import mp4_from_origin

from origin import TestOrigin
from slipstream.models import Verdict
from slipstream.playback import PlaybackVerifier

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


def page(body: str) -> str:
    return f"<!doctype html><html><head><title>embed</title></head><body>{body}</body></html>"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def embeds(origin: TestOrigin, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Embed pages on the origin; the iframe is cross-origin (localhost vs 127.0.0.1)."""
    tmp = tmp_path_factory.mktemp("embeds")
    h264 = mp4_from_origin(origin, "/vod/ts360/index.m3u8", tmp / "h264.mp4", "-bsf:a", "aac_adtstoasc")
    hevc = mp4_from_origin(origin, "/vod/hevc/index.m3u8", tmp / "hevc.mp4",
                           "-tag:v", "hvc1", "-bsf:a", "aac_adtstoasc")
    origin.serve_text("/embeds/h264.mp4", h264, "video/mp4")
    origin.serve_text("/embeds/hevc.mp4", hevc, "video/mp4")
    other_host = origin.url("/embeds/").replace("127.0.0.1", "localhost")
    texts = {
        "player.html": page('<video src="h264.mp4" autoplay muted loop playsinline></video>'),
        "outer.html": page(f'<h1>Live</h1><iframe src="{other_host}player.html" width="640" '
                           'height="360" allow="autoplay"></iframe>'),
        "novideo.html": page('<h1>Live soon</h1><iframe src="text.html"></iframe>'),
        "text.html": page("<p>The stream starts at 14:00.</p>"),
        "hevc.html": page('<iframe src="hevcplayer.html" allow="autoplay"></iframe>'),
        "hevcplayer.html": page('<video src="hevc.mp4" autoplay muted loop></video>'),
        "click.html": page('<video id="v" src="h264.mp4" loop></video>'
                           '<button aria-label="Play video" '
                           'onclick="document.getElementById(\'v\').play()">&#9654;</button>'),
    }
    return {name: origin.serve_text(f"/embeds/{name}", body, "text/html")
            for name, body in texts.items()}


async def test_video_playing_inside_a_cross_origin_iframe_is_playable(
    verifier: PlaybackVerifier, embeds: dict[str, str]
) -> None:
    verdict = await verifier.verify(embeds["outer.html"], {}, "embed")
    assert (verdict.is_playable, verdict.reason) == (True, "playing")
    assert verdict.elapsed_ms is not None and 0 < verdict.elapsed_ms < 15_000


async def test_page_without_a_video_is_not_playable(
    verifier: PlaybackVerifier, embeds: dict[str, str]
) -> None:
    verdict = await verifier.verify(embeds["novideo.html"], {}, "embed")
    assert verdict == Verdict(embeds["novideo.html"], False, None, "no video")


async def test_audio_moving_without_decoded_frames_is_not_playable(
    verifier: PlaybackVerifier, embeds: dict[str, str]
) -> None:
    # Chromium plays the AAC track of an HEVC MP4 it cannot decode: time moves, no frames.
    verdict = await verifier.verify(embeds["hevc.html"], {}, "embed")
    assert verdict == Verdict(embeds["hevc.html"], False, None, "no frames decoded")


async def test_one_click_on_a_play_button_starts_the_video(
    verifier: PlaybackVerifier, embeds: dict[str, str]
) -> None:
    verdict = await verifier.verify(embeds["click.html"], {}, "embed")
    assert (verdict.is_playable, verdict.reason) == (True, "playing")


async def test_missing_embed_page_reports_its_status(
    verifier: PlaybackVerifier, origin: TestOrigin
) -> None:
    url = origin.url("/~status=404/embeds/gone.html")
    assert await verifier.verify(url, {}, "embed") == Verdict(url, False, None, "http 404")


async def test_embed_and_hls_checked_together(
    verifier: PlaybackVerifier, origin: TestOrigin, embeds: dict[str, str]
) -> None:
    hls, gone = origin.url("/live/ts360/index.m3u8"), origin.url("/~status=410/embeds/x.html")
    results = await verifier.verify_many(
        [(embeds["outer.html"], {}, "embed"), (hls, {}, "hls"), (gone, {}, "embed")])
    playable = {url: v.is_playable for url, v in results.items()}
    assert playable == {embeds["outer.html"]: True, hls: True, gone: False}
