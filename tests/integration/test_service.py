"""The service end to end: `slipstream serve` over the local origin, as a user runs it.

One service, several kinds of source (m3u with faults and duplicates, curated,
page, a third-party entry-point extractor, one that raises, one that hangs),
the health check deciding what is live, the ranked API, and a restart that
serves the last-known list at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from origin import REFERER, TestOrigin
from runner import Service


def playlist(origin: TestOrigin) -> str:
    u = origin.url
    return f"""\ufeff#EXTM3U x-tvg-url="http://epg.invalid/guide.xml"\r
#EXTINF:-1 tvg-id="f1.main" group-title="Sports",F1 Race - Main feed (720p)\r
{u('/live/master.m3u8')}\r
#EXTINF:-1 group-title="Sports",F1 Race - Backup of the same feed\r
{u('/live/master.m3u8?token=another-token')}\r
#EXTINF:-1 group-title="Sports",MotoGP Qualifying onboard\r
{u('/live/fmp4/index.m3u8')}\r
#EXTINF:-1 group-title="Sports",WEC replay (VOD)\r
{u('/vod/ts360/index.m3u8')}\r
#EXTINF:-1 group-title="Sports",Frozen feed\r
{u('/~stale/live/ts360/index.m3u8')}\r
#EXTINF:-1 group-title="Sports",Dead segments\r
{u('/broken/ts360/index.m3u8')}\r
#EXTINF:-1 group-title="Sports",Not a playlist\r
{u('/~html/live/ts360/index.m3u8')}\r
#EXTINF:-1 group-title="Sports",IndyCar Race protected feed\r
#EXTVLCOPT:http-referrer={REFERER}\r
{u('/~referer/live/ts234/index.m3u8')}\r
#EXTINF:-1 group-title="Entertainment",Cooking show\r
{u('/~id=cooking/live/ts360/index.m3u8')}\r
#EXTINF:-1 group-title="Sports",this entry has no URL\r
\r
"""


PAGE = """<!doctype html><html><head><title>Live now</title></head><body>
<video controls src="/~id=page/live/ts234/index.m3u8"></video>
<script>var backup = "https:\\/\\/example.invalid\\/offline\\/skip.mp4";</script>
</body></html>"""


def config(origin: TestOrigin, hang: str = "2s") -> str:
    m3u = origin.serve_text("/lists/sports.m3u", playlist(origin), "audio/x-mpegurl")
    page = origin.serve_text("/pages/live.html", PAGE, "text/html")
    lister = origin.url("/~id=lister/live/ts360/index.m3u8")
    pit = origin.url("/~status=404/pit/index.m3u8")  # broken, but curated streams are trusted
    return f"""
[schedule]
extract_every = "1h"
[health]
timeout = "5s"
[verify]
enabled = false
[proxy]
allow_private_upstreams = true

[[sources]]
type = "m3u"
key = "iptv"
name = "IPTV list"
url = "{m3u}"
groups = ["Sports"]

[[sources]]
type = "curated"
key = "curated"
name = "Curated"
streams = [{{ title = "Curated pit cam", url = "{pit}", series = "f1" }}]

[[sources]]
type = "page"
key = "pages"
name = "Pages"
pages = ["{page}"]
keep = "\\\\.m3u8"

[[sources]]
type = "lister"
key = "third-party"
name = "A third-party extractor"
urls = ["{lister}"]
titles = ["F2 Sprint feed"]

[[sources]]
type = "raiser"
key = "broken-site"

[[sources]]
type = "hanger"
key = "slow-site"
timeout = "{hang}"
"""


@pytest.fixture(scope="module")
def service(origin: TestOrigin, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("service")
    path = tmp / "slipstream.toml"
    path.write_text(config(origin))
    svc = Service(path, tmp / "data").start()
    svc.wait_run()
    yield svc
    svc.stop()


def by_title(streams: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["title"]: s for s in streams}


def test_only_live_streams_are_listed_ranked_fastest_first(service: Service) -> None:
    live = service.json("/streams")
    titles = [s["title"] for s in live]
    assert sorted(titles) == sorted([
        "Curated pit cam", "F1 Race - Main feed", "MotoGP Qualifying onboard",
        "IndyCar Race protected feed", "Live now", "F2 Sprint feed"])
    assert titles[0] == "Curated pit cam"  # trusted: response_time_ms = 0
    times = [s["response_time_ms"] for s in live]
    assert times == sorted(times)
    assert all(s["is_live"] and s["checked_at"] for s in live)
    assert all("headers" not in s for s in live)  # upstream headers are never sent to clients


def test_all_streams_carry_reasons(service: Service) -> None:
    everything = by_title(service.json("/streams/all"))
    assert everything["WEC replay (VOD)"]["reason"] == "vod"
    assert everything["Frozen feed"]["reason"] == "stale"
    assert everything["Dead segments"]["reason"] == "segment http 404"
    assert everything["Not a playlist"]["reason"] == "not a playlist"
    assert not any(everything[t]["is_live"] for t in ("WEC replay (VOD)", "Frozen feed", "Dead segments"))
    main = everything["F1 Race - Main feed"]
    assert main["quality"] == "720p" and main["series"] == "f1" and main["session_type"] == "race"
    assert main["bitrate"] and main["bitrate"] > 100_000
    assert main["uptime"] == 1.0
    assert "Cooking show" not in everything  # group filter


def test_the_same_stream_listed_twice_is_shown_once(service: Service) -> None:
    titles = [s["title"] for s in service.json("/streams/all")]
    assert "F1 Race - Backup of the same feed" not in titles
    assert titles.count("F1 Race - Main feed") == 1


def test_extractor_status_isolates_failures(service: Service) -> None:
    status = service.json("/extractors")
    per = {e["site_key"]: e for e in status["extractors"]}
    assert "the site changed its layout" in per["broken-site"]["last_error"]
    assert "timeout" in per["slow-site"]["last_error"]
    assert per["broken-site"]["cached_streams"] == 0
    assert per["iptv"]["last_error"] is None
    assert (per["iptv"]["cached_streams"], per["iptv"]["live_streams"]) == (7, 3)
    assert per["third-party"]["live_streams"] == 1
    assert status["total_live_streams"] == 6
    assert status["total_cached_streams"] == 10
    assert status["last_run_stream_count"] == 10
    assert status["verifier"] == {"enabled": False, "reason": "disabled in config"}


def test_session_route_keeps_matching_and_untagged(service: Service) -> None:
    race = {s["title"] for s in service.json("/streams/session/race")}
    assert "F1 Race - Main feed" in race and "IndyCar Race protected feed" in race
    assert "MotoGP Qualifying onboard" not in race and "F2 Sprint feed" not in race
    assert "Live now" in race  # untagged
    quali = {s["title"] for s in service.json("/streams/session/qualifying")}
    assert "MotoGP Qualifying onboard" in quali and "F1 Race - Main feed" not in quali


def test_api_answers_at_once_while_a_run_hangs(service: Service) -> None:
    before = service.json("/extractors")["runs_completed"]
    assert service.request("POST", "/extract")[0] == 202
    slowest = 0.0
    while service.json("/extractors")["running"] or service.json("/extractors")["runs_completed"] == before:
        t0 = time.perf_counter()
        status, body = service.get("/streams")
        slowest = max(slowest, time.perf_counter() - t0)
        assert status == 200 and body.startswith(b"[{")
    assert slowest < 0.5, f"/streams took {slowest:.3f}s during a run"
    assert service.request("POST", "/extract")[0] == 202


Labels = frozenset[tuple[str, str]]


def labels(**pairs: str) -> Labels:
    return frozenset(pairs.items())


def scrape(service: Service) -> dict[tuple[str, Labels], float]:
    """/metrics parsed: (sample name, labels) -> value."""
    status, body = service.get("/metrics")
    assert status == 200
    return {(s.name, labels(**s.labels)): s.value
            for family in text_string_to_metric_families(body.decode()) for s in family.samples}


SLOW_RUNS = ("slipstream_extractor_runs_total", labels(site_key="slow-site", outcome="error"))


def test_a_trigger_during_a_run_starts_no_second_run(service: Service) -> None:
    before = service.wait_run()["runs_completed"]
    slow_runs = scrape(service).get(SLOW_RUNS, 0.0)
    first = service.request("POST", "/extract")
    second = service.request("POST", "/extract")  # the run hangs on slow-site for its 2 s timeout
    assert (first[0], json.loads(first[1])) == (202, {"status": "started"})
    assert (second[0], json.loads(second[1])) == (202, {"status": "already running"})
    assert service.json("/extractors")["running"] is True
    assert service.wait_run(after=before)["runs_completed"] == before + 1
    after = scrape(service)[SLOW_RUNS]
    assert after == slow_runs + 1  # the hanging extractor was run once, not twice


@pytest.mark.parametrize("attempt", range(3))  # a race: several tries make it show
def test_simultaneous_triggers_start_one_run(service: Service, attempt: int) -> None:
    before = service.wait_run()["runs_completed"]
    with ThreadPoolExecutor(8) as pool:  # admins (or scripts) pressing "run now" at the same moment
        answers = list(pool.map(lambda _: service.request("POST", "/extract"), range(8)))
    assert {status for status, _ in answers} == {202}
    assert sorted(json.loads(body)["status"] for _, body in answers) == ["already running"] * 7 + ["started"]
    assert service.wait_run(after=before)["runs_completed"] == before + 1


def test_metrics_count_runs_reasons_and_streams(service: Service) -> None:
    metrics = scrape(service)

    def value(name: str, **pairs: str) -> float | None:
        return metrics.get((name, labels(**pairs)))

    runs = "slipstream_extractor_runs_total"
    assert (value(runs, outcome="error", site_key="broken-site") or 0) >= 1
    assert (value(runs, outcome="ok", site_key="iptv") or 0) >= 1
    assert value(runs, outcome="ok", site_key="broken-site") is None
    for reason in ("vod", "stale", "segment http 404", "not a playlist"):  # failure reasons, as labels
        assert (value("slipstream_health_checks_total", reason=reason) or 0) >= 1, reason
    assert (value("slipstream_health_checks_total", reason="ok") or 0) >= 5
    cached = {"iptv": 7, "curated": 1, "pages": 1, "third-party": 1, "broken-site": 0, "slow-site": 0}
    live = {"iptv": 3, "curated": 1, "pages": 1, "third-party": 1, "broken-site": 0, "slow-site": 0}
    for key in cached:
        assert value("slipstream_streams", site_key=key, state="cached") == cached[key], key
        assert value("slipstream_streams", site_key=key, state="live") == live[key], key
    assert (value("slipstream_health_playlist_seconds_count") or 0) >= 8  # every HLS stream's first fetch
    assert (value("slipstream_health_playlist_seconds_sum") or 0) > 0
    for key in cached:
        assert (value("slipstream_extractor_run_seconds_count", site_key=key) or 0) >= 1, key
    assert (value("slipstream_extractor_run_seconds_sum", site_key="slow-site") or 0) >= 2  # its timeout
    assert value("slipstream_watched_streams") == 0


def test_openapi_docs(service: Service) -> None:
    spec = service.json("/openapi.json")
    for path in ("/streams", "/streams/all", "/extractors", "/extract", "/healthz"):
        assert path in spec["paths"]
    status, body = service.get("/docs")
    assert status == 200 and b"swagger" in body.lower()


def test_restart_serves_the_last_known_list_before_a_new_run(origin: TestOrigin, tmp_path: Path) -> None:
    path = tmp_path / "slipstream.toml"
    path.write_text(config(origin))
    svc = Service(path, tmp_path / "data").start()
    try:
        svc.wait_run()
        first = svc.json("/streams")
    finally:
        svc.stop()
    path.write_text(config(origin, hang="60s"))  # the next run cannot finish for a minute
    svc = Service(path, tmp_path / "data").start()
    try:
        status = svc.json("/extractors")
        assert status["running"] is True
        assert svc.json("/streams") == first
        # Until the new run ends, /extractors says what it said before the restart.
        broken = next(e for e in status["extractors"] if e["site_key"] == "broken-site")
        assert broken["last_error"] == status["last_run_errors"]["broken-site"]
        assert broken["last_run"] == status["last_run"] is not None
    finally:
        svc.stop()
    # A source taken out of the config: its streams are not served from the store again.
    path.write_text(without_source(config(origin, hang="60s"), "iptv"))
    svc = Service(path, tmp_path / "data").start()
    try:
        status = svc.json("/extractors")
        assert status["running"] is True
        assert svc.json("/streams") == [s for s in first if s["site_key"] != "iptv"]
        assert "iptv" not in {s["site_key"] for s in svc.json("/streams/all")}
        assert status["total_cached_streams"] == sum(e["cached_streams"] for e in status["extractors"])
    finally:
        svc.stop()


def without_source(text: str, key: str) -> str:
    """The config text with the [[sources]] table of `key` taken out."""
    head, *tables = text.split("\n[[sources]]")
    return head + "".join("\n[[sources]]" + t for t in tables if f'key = "{key}"' not in t)

