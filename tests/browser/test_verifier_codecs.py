"""The codec probe: a browser that cannot decode H.264/AAC turns the verifier off, calls nothing dead."""

from __future__ import annotations

import pytest
from browser_support import require_browser

from origin import TestOrigin
from slipstream.config import build_settings
from slipstream.models import Verdict
from slipstream.playback import PlaybackVerifier, find_browser
from slipstream.playback.browser import BrowserHost
from slipstream.runtime import open_runtime
from slipstream.service import ExtractionService
from slipstream.store.memory import MemoryStore

pytestmark = pytest.mark.browser

# A real MediaSource type no browser decodes: the seam for a build without proprietary codecs.
NOTHING_DECODES = 'video/mp4; codecs="slipstream.nothing"'


def cannot_decode(executable: str) -> str:
    return f"browser cannot decode H.264/AAC ({executable})"


async def test_the_found_chromium_decodes_h264_aac_probed_once_per_launch() -> None:
    require_browser()
    executable = find_browser("")
    assert executable is not None
    host = BrowserHost(executable)
    try:
        first = await host.get()
        assert await host.get() is first  # the running browser is not probed again
        assert (host.launches, host.probes, host.unsuitable) == (1, 1, None)
        await first.close()  # gone: the next get() relaunches and probes the new browser
        assert await host.get() is not first
        assert (host.launches, host.probes, host.unsuitable) == (2, 2, None)
    finally:
        await host.close()


async def test_a_browser_without_the_codecs_turns_the_verifier_off(origin: TestOrigin) -> None:
    require_browser()
    verifier = PlaybackVerifier(build_settings({}).verify, probe_type=NOTHING_DECODES)
    assert verifier.available and verifier.host is not None  # not known before a launch
    urls = [origin.url(f"/~id=nocodec{i}/live/master.m3u8") for i in range(3)]
    ticks: list[Verdict] = []
    try:
        # A check that could not run is left out, as when the browser dies: never "dead".
        assert await verifier.verify_many([(u, {}, "hls") for u in urls], ticks.append) == {}
        reason = cannot_decode(verifier.host.executable)
        assert (verifier.available, verifier.unavailable_reason) == (False, reason)
        assert await verifier.verify(urls[0]) == Verdict(urls[0], False, None, f"not verified: {reason}")
        assert (verifier.host.launches, verifier.host.probes) == (1, 1)  # not relaunched per check
        assert verifier.host.pids() == []  # the useless browser was closed
    finally:
        await verifier.close()
    assert sorted(t.url for t in ticks) == sorted(urls)
    assert all(not t.is_playable and t.reason == "not verified" for t in ticks)
    assert origin.hits("/~id=nocodec") == 0  # no stream was played


async def test_service_keeps_health_verdicts_and_says_why_the_verifier_is_off(
    origin: TestOrigin,
) -> None:
    require_browser()
    live, gone = origin.url("/live/master.m3u8"), origin.url("/~status=404/gone/index.m3u8")
    m3u = origin.serve_text("/nocodec/list.m3u", f"#EXTM3U\n#EXTINF:-1,Race feed\n{live}\n"
                            f"#EXTINF:-1,Gone feed\n{gone}\n")
    settings = build_settings({"proxy": {"allow_private_upstreams": True},
                               "sources": [{"type": "m3u", "key": "iptv", "url": m3u}]})
    verifier = PlaybackVerifier(settings.verify, probe_type=NOTHING_DECODES)
    async with open_runtime(settings, store=MemoryStore(), verify=False) as rt:
        service = ExtractionService(rt.extractors, rt.health, rt.store, verifier)
        try:
            await service.run()
        finally:
            await verifier.close()
    assert verifier.host is not None
    streams = {s.title: (s.is_live, s.reason) for s in service.cache["iptv"]}
    assert streams["Race feed"] == (True, "ok")  # the health verdict stands
    assert streams["Gone feed"][0] is False
    assert service.status()["verifier"] == {"enabled": False,
                                            "reason": cannot_decode(verifier.host.executable)}
