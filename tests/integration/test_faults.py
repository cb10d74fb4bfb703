"""Holding up: the real service (a `slipstream serve` subprocess) under faults.

Extractors that hang, raise or list 50,000 streams; origins that stall mid-segment,
cut or close connections, send endless bodies or redirect in a loop (tests/origin.py
and the raw tests/origin_extra.py); the SQLite file locked by another process or
deleted under the service. Each time the health check names a reason, nothing
crashes, nothing the store holds is lost, and `/streams` keeps answering: its p99
over 500 sequential requests stays within twice the quiet p99 plus 5 ms.
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from fault_support import assert_p99_holds, log_text, quiet_p99, serving, stored_titles, titles, trigger
from origin import TestOrigin
from origin_extra import FaultServer
from runner import Service, http_get, wait_for
from slipstream.demo.media import MediaSet


@pytest.fixture(scope="module")
def faults(media: MediaSet) -> Iterator[FaultServer]:
    rendition = media.renditions["ts360"]
    server = FaultServer(media.segment_path(rendition, 0).read_bytes()).start()
    yield server
    server.close()


# --- helpers -------------------------------------------------------------------------------

def config(*sources: str, stale_check: bool = False, timeout: str = "2s") -> str:
    return f"""
[schedule]
extract_every = "1h"
[health]
concurrency = 20
timeout = "{timeout}"
stale_check = {str(stale_check).lower()}
[verify]
enabled = false
[proxy]
allow_private_upstreams = true
""" + "".join(sources)


def m3u(key: str, url: str) -> str:
    return f'\n[[sources]]\ntype = "m3u"\nkey = "{key}"\nurl = "{url}"\n'


def plugin(kind: str, key: str, **options: Any) -> str:
    lines = "".join(f"{name} = {json.dumps(value)}\n" for name, value in options.items())
    return f'\n[[sources]]\ntype = "{kind}"\nkey = "{key}"\n{lines}'


def hanger(timeout: str) -> str:
    """An extractor that never returns: the run lasts its timeout."""
    return plugin("hanger", "slow", timeout=timeout)


# --- extractors --------------------------------------------------------------------------

def test_hanging_raising_and_huge_extractors(tmp_path: Path, origin: TestOrigin, faults: FaultServer) -> None:
    good_url = origin.url("/~id=good/live/ts360/index.m3u8")
    good = plugin("lister", "good", urls=[good_url], titles=["Good feed"])
    with serving(tmp_path, config(good, plugin("raiser", "broken"), hanger("2s"))) as svc:
        per = {e["site_key"]: e for e in svc.wait_run()["extractors"]}
        assert "the site changed its layout" in per["broken"]["last_error"]
        assert per["slow"]["last_error"] == "timeout after 2s"
        assert titles(svc) == {"Good feed"}  # the others are unaffected
        quiet = quiet_p99(svc)
    with serving(tmp_path, config(good, plugin("raiser", "broken"), hanger("60s"))) as svc:
        assert_p99_holds(svc, quiet, "a run with a hanging and a raising extractor")
        assert titles(svc) == {"Good feed"}  # the last-known list
    huge = plugin("many", "huge", url=faults.url("/hold/300/{i}/index.m3u8"), count=50_000)
    faults.reset_counts()
    with serving(tmp_path, config(good, huge)) as svc:
        assert titles(svc) == {"Good feed"}
        wait_for(lambda: faults.requests > 100, 60, "health checks of the 50,000 streams")
        assert_p99_holds(svc, quiet, "a run checking 50,000 streams")
        proc, started = svc.proc, time.monotonic()
    assert proc is not None and proc.returncode == 0 and time.monotonic() - started < 15  # stops at once
    assert faults.max_in_flight == 20  # the [health] concurrency: reached, never exceeded


# --- origins -------------------------------------------------------------------------------

ORIGIN_FAULTS = {  # title -> (where, the reason /streams/all gives)
    "Stalls mid-segment": ("/live/stall/index.m3u8", "timeout"),
    "Cut mid-segment": ("/live/cut/index.m3u8", "connection failed: ClientPayloadError"),
    "Endless segment": ("/live/endless/index.m3u8", "ok"),  # only its head is read
    "Closes the connection": ("/close/index.m3u8", "connection failed: disconnected"),
    "Answers not HTTP": ("/nothttp/index.m3u8", "connection failed: ClientResponseError"),
    "Stalls mid-playlist": ("/stall-playlist/index.m3u8", "timeout"),
    "Endless playlist": ("/endless-playlist/index.m3u8", "playlist too large"),
}


def fault_list(origin: TestOrigin, faults: FaultServer) -> str:
    entries = {title: faults.url(path) for title, (path, _) in ORIGIN_FAULTS.items()}
    entries["Redirects forever"] = origin.url("/~loop/live/ts360/index.m3u8")
    entries["Good feed"] = origin.url("/~id=good-origin/live/ts360/index.m3u8")
    return "#EXTM3U\n" + "".join(f"#EXTINF:-1,{t}\n{u}\n" for t, u in entries.items())


def test_origin_faults_get_reasons_and_never_stall_the_api(
    tmp_path: Path, origin: TestOrigin, faults: FaultServer
) -> None:
    source = m3u("faulty", origin.serve_text("/faults/origins.m3u", fault_list(origin, faults)))
    with serving(tmp_path, config(source, stale_check=True)) as svc:
        svc.wait_run()
        quiet = quiet_p99(svc)
    faults.endless_ended.clear()
    with serving(tmp_path, config(source, stale_check=True, timeout="10s")) as svc:  # stalls last 10 s
        assert_p99_holds(svc, quiet, "health checks of misbehaving origins")
        svc.wait_run(timeout=60)
        reasons = {s["title"]: s["reason"] for s in svc.json("/streams/all")}
        expected = {title: reason for title, (_, reason) in ORIGIN_FAULTS.items()}
        assert reasons == {**expected, "Redirects forever": "too many redirects", "Good feed": "ok"}
        assert titles(svc) == {"Good feed", "Endless segment"}
        assert faults.endless_ended.is_set()  # the endless body was dropped after its head
        wait_for(lambda: faults.in_flight == 0, 5, "every stalled connection to be closed")
        assert "Traceback" not in log_text(svc)


def get_streams(svc: Service, **headers: str) -> tuple[int, dict[str, str], bytes]:
    return http_get(svc.url("/streams"), headers=headers)


def test_the_stream_list_is_gzipped_and_revalidated(tmp_path: Path, origin: TestOrigin) -> None:
    """Pollers of /streams (the web UI) get it gzipped, and a 304 while it has not changed."""
    url = origin.serve_text("/faults/polled.m3u", channel_list(origin, ["First"]))
    with serving(tmp_path, config(m3u("tv", url), hanger("1s"))) as svc:
        svc.wait_run()
        status, headers, plain = get_streams(svc)
        assert status == 200 and json.loads(plain)[0]["title"] == "First"
        etag = headers["etag"]
        assert headers["cache-control"] == "no-cache" and "Accept-Encoding" in headers["vary"]
        status, zipped_headers, zipped = get_streams(svc, **{"Accept-Encoding": "gzip, deflate"})
        assert zipped_headers["content-encoding"] == "gzip" and gzip.decompress(zipped) == plain
        assert len(zipped) < len(plain) and zipped_headers["etag"] == etag
        assert get_streams(svc, **{"Accept-Encoding": "gzip;q=0"})[2] == plain
        assert get_streams(svc, **{"If-None-Match": etag})[:3:2] == (304, b"")
        origin.serve_text("/faults/polled.m3u", channel_list(origin, ["First", "Second"]))
        svc.wait_run(after=trigger(svc))
        status, headers, body = get_streams(svc, **{"If-None-Match": etag})
        assert status == 200 and headers["etag"] != etag and len(json.loads(body)) == 2


# --- the SQLite store ----------------------------------------------------------------------

def channel_list(origin: TestOrigin, names: list[str]) -> str:
    urls = [origin.url("/~id=" + name.replace(" ", "-") + "/live/ts360/index.m3u8") for name in names]
    return "#EXTM3U\n" + "".join(f"#EXTINF:-1,{n}\n{u}\n" for n, u in zip(names, urls, strict=True))


def store_config(url: str, hang: str = "1s") -> str:
    return config(m3u("tv", url), hanger(hang))


def assert_a_restart_serves(tmp_path: Path, url: str, expected: set[str]) -> None:
    """Restarted with a run that cannot finish, the service serves what the store kept."""
    with serving(tmp_path, store_config(url, hang="60s")) as svc:
        assert svc.json("/extractors")["running"] is True
        assert titles(svc) == expected


def test_a_locked_store_loses_nothing(tmp_path: Path, origin: TestOrigin) -> None:
    url = origin.serve_text("/faults/locked.m3u", channel_list(origin, ["Old one", "Old two"]))
    db = tmp_path / "data" / "slipstream.db"
    with serving(tmp_path, store_config(url)) as svc:
        svc.wait_run()
        quiet = quiet_p99(svc)
        origin.serve_text("/faults/locked.m3u", channel_list(origin, ["New one", "New two"]))
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
        try:
            before = trigger(svc)  # its first write waits out SQLite's 10 s busy timeout
            assert_p99_holds(svc, quiet, "a run against a locked store")
            svc.wait_run(after=before, timeout=60)
            assert titles(svc) == {"New one", "New two"}  # memory serves the new run
            assert "database is locked" in log_text(svc)
        finally:
            holder.close()
        assert stored_titles(db) == {"Old one", "Old two"}  # what the store held is intact
        svc.wait_run(after=trigger(svc))
        assert stored_titles(db) == {"New one", "New two"}  # and the next run persists again
    assert_a_restart_serves(tmp_path, url, {"New one", "New two"})


def test_a_deleted_store_is_recreated(tmp_path: Path, origin: TestOrigin) -> None:
    url = origin.serve_text("/faults/deleted.m3u", channel_list(origin, ["Old one"]))
    db = tmp_path / "data" / "slipstream.db"
    with serving(tmp_path, store_config(url)) as svc:
        svc.wait_run()
        quiet = quiet_p99(svc)
        for path in db.parent.glob("slipstream.db*"):
            path.unlink()
        assert_p99_holds(svc, quiet, "serving with the store file deleted", lasts=lambda: not db.exists())
        origin.serve_text("/faults/deleted.m3u", channel_list(origin, ["New one"]))
        svc.wait_run(after=trigger(svc))
        assert titles(svc) == {"New one"}
        assert db.exists() and stored_titles(db) == {"New one"}
        assert "deleted or replaced" in log_text(svc)
    assert_a_restart_serves(tmp_path, url, {"New one"})


# --- secrets and tokens in the log ---------------------------------------------------------

DEBUG_BOOT = ("import logging, sys; logging.basicConfig(level=logging.DEBUG, stream=sys.stderr,"
              " format='%(levelname)s %(name)s %(message)s'); from slipstream.cli import app; app()")


class DebugService(Service):
    """`slipstream serve` with every logger at DEBUG (the CLI keeps a root handler it finds)."""

    def command(self) -> list[str]:
        return [sys.executable, "-c", DEBUG_BOOT, "serve", "--config", str(self.config),
                "--port", str(self.port)]


def proxy_lines(body: bytes) -> list[str]:
    """The URI lines of a playlist the proxy rewrote (paths under /proxy/)."""
    return [line for line in body.decode().splitlines() if line and not line.startswith("#")]


def test_secrets_and_upstream_tokens_stay_out_of_the_log_at_every_level(
    tmp_path: Path, origin: TestOrigin, faults: FaultServer
) -> None:
    """Every logger at DEBUG and the access log on, while a player pulls playlists and a segment."""
    secret, api_key = "sEcReT-" + os.urandom(12).hex(), "aPiKeY-" + os.urandom(12).hex()
    admin = {"X-API-Key": api_key}
    tokens = m3u("tokens", origin.url("/tokens/30.m3u"))  # three tokenised channels
    panel = m3u("panel", faults.url("/nothttp/list.m3u?username=me&password=pAsSwOrD"))  # fails, quoting it
    direct = plugin("lister", "direct", urls=[origin.token_url("/live/ts234/index.m3u8"),
                                              origin.token_url("/~id=old/live/ts360/index.m3u8", ttl=-5)])
    (tmp_path / "spaced.m3u").write_text(  # skipped, quoting it
        f"#EXTM3U\n#EXTINF:-1,Spaced\n{origin.url('/live/a b.m3u8?sig=sPaCeDsIg')}\n")
    local = '\n[[sources]]\ntype = "m3u"\nkey = "local"\npath = "spaced.m3u"\n'
    (tmp_path / "slipstream.toml").write_text(f'[server]\nsecret = "{secret}"\napi_key = "{api_key}"\n'
                                              'access_log = true\n' + config(tokens, panel, direct, local))
    svc = DebugService(tmp_path / "slipstream.toml", tmp_path / "data").start()
    try:
        svc.wait_run()
        live = {s["title"]: s for s in svc.json("/streams")}
        assert len(live) == 4 and svc.get("/streams/all", admin)[0] == 200
        assert svc.get(f"/streams/all?api_key={api_key}")[0] == 401  # a key in the query is refused...
        stream_id = live["Token master"]["id"]
        watched = json.loads(svc.request("POST", f"/streams/{stream_id}/watch")[1])
        status, master = svc.get(watched["proxy_url"])
        assert status == 200 and b"#EXTM3U" in master
        variant = proxy_lines(master)[0]
        status, media = svc.get(variant)
        assert status == 200 and b"#EXTINF" in media
        segment = proxy_lines(media)[-1]
        signed = parse_qs(urlsplit(segment).query)["t"][0]  # the proxy's own signed token
        status, body = svc.get(segment)
        assert status == 200 and body[:1] == b"\x47"  # MPEG-TS
        [active] = svc.json("/active", {"Authorization": f"Bearer {api_key}"})
        upstream = parse_qs(urlsplit(active["current_url"]).query)  # the CDN token it was fetched with
    finally:
        svc.stop()
    text = svc.log_path.read_text(errors="replace")
    assert "\nDEBUG " in text  # every level was on, and tokenised URLs were logged...
    assert "/~token/~id=old/live/ts360/index.m3u8 -> http 403" in text
    assert f'"GET {urlsplit(variant).path} HTTP/1.1" 200' in text  # ...and the access log too
    assert '"GET /streams/all HTTP/1.1" 401' in text
    needles = (secret, api_key, "sig=", "pAsSwOrD", "sPaCeDsIg", signed, *upstream["sig"])
    for needle in needles:  # ...without their queries
        assert needle not in text, f"{needle!r} is in the service log"
