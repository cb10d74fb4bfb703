"""The verifier's browser killed while the service is verifying a run.

The service keeps serving (/streams p99 within the bound of tests/fault_support.py), the
run finishes, no stream is called dead because the browser died under its check, the
store keeps every stream, and the next checks relaunch the browser.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from browser_support import require_browser

from fault_support import assert_p99_holds, log_text, quiet_p99, serving, stored_titles, trigger
from origin import TestOrigin
from runner import Service, wait_for
from slipstream.playback.browser import descendants

pytestmark = pytest.mark.browser

CHANNELS = [f"Onboard {i}" for i in range(6)]


def chromium_processes(svc: Service) -> tuple[int | None, int]:
    """The service's Chromium: (the browser process, how many renderers are open)."""
    assert svc.proc is not None
    root, renderers = None, 0
    for pid in descendants(svc.proc.pid):
        try:  # Chromium rewrites its argv into one string: search it, do not split it
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:  # gone while we looked
            continue
        if not comm.startswith("chrom"):
            continue
        if b"--type=renderer" in cmdline:
            renderers += 1
        elif b"--type=" not in cmdline:
            root = pid
    return root, renderers


def test_killing_the_browser_mid_run_loses_nothing(tmp_path: Path, origin: TestOrigin) -> None:
    require_browser()
    # Every response of these channels waits 1 s, so each check takes a few seconds.
    urls = [origin.url(f"/~delay=1000/~id=onboard{i}/live/ts234/index.m3u8") for i in range(len(CHANNELS))]
    listing = origin.serve_text("/kill/onboards.m3u", "#EXTM3U\n" + "".join(
        f"#EXTINF:-1,{title}\n{url}\n" for title, url in zip(CHANNELS, urls, strict=True)))
    text = f"""
[schedule]
extract_every = "1h"
[health]
stale_check = false
[verify]
concurrency = 2
timeout = "20s"
[proxy]
allow_private_upstreams = true
[[sources]]
type = "m3u"
key = "tv"
url = "{listing}"
"""
    with serving(tmp_path, text) as svc:
        svc.wait_run(timeout=120)
        verified = {s["title"]: s["first_frame_ms"] for s in svc.json("/streams")}
        assert set(verified) == set(CHANNELS) and all(ms and ms > 0 for ms in verified.values())
        quiet = quiet_p99(svc)

        before = trigger(svc)
        browser = wait_for(lambda: (p := chromium_processes(svc))[1] > 0 and p[0], 60,
                           "a playback check of the second run")
        os.kill(browser, signal.SIGKILL)
        assert_p99_holds(svc, quiet, "a run whose browser was killed")
        svc.wait_run(after=before, timeout=120)

        after = {s["title"]: s for s in svc.json("/streams")}
        assert set(after) == set(CHANNELS)  # a check the browser died under is no verdict of "dead"
        cut = [t for t, s in after.items() if s["first_frame_ms"] is None]
        assert 1 <= len(cut) <= 2, cut  # the checks in flight (concurrency 2) were cut short
        assert all(s["reason"] == "ok" for s in after.values())  # they keep their health verdict
        relaunched = chromium_processes(svc)[0]
        assert relaunched not in (None, browser)  # the later checks relaunched it and played
        assert "launch #2" in log_text(svc)
        assert stored_titles(tmp_path / "data" / "slipstream.db") == set(CHANNELS)
        assert "Traceback" not in log_text(svc)
