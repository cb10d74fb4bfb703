"""Benchmark: playback verification as the service runs it, through its own proxy.

Run: .venv/bin/python bench/verify_service.py [--streams 20] [--levels 2,4,8] [--runs 2]

bench/verify.py times `PlaybackVerifier.verify_many` alone, the browser fetching the
origin itself. The service verifies every HLS stream through its own proxy
(/proxy/{id}/master.m3u8), so the same process also rewrites the playlists and
streams the segments Chromium plays. This script measures that path: `slipstream
serve` (a subprocess) with one M3U source of distinct live streams from the local
origin (a child process), the health check's staleness wait off, and the verifier at
the given concurrency. The first run launches Chromium and is not counted; each
following run is started with POST /extract and timed by the service itself
(`last_run_duration_s`: extraction, health check and verification, of which the
verification is nearly all). Memory is the peak summed Pss of the service's Chromium
processes, sampled every 0.2 s.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from verify import _origin_main, pss_kib  # noqa: E402

from runner import Service  # noqa: E402
from slipstream.playback.browser import descendants  # noqa: E402


def chromium_pss_kib(root_pid: int) -> int:
    """Summed Pss of the Chromium processes below `root_pid`."""
    total = 0
    for pid in descendants(root_pid):
        try:
            if Path(f"/proc/{pid}/comm").read_text().startswith("chrom"):
                total += pss_kib(pid)
        except OSError:
            continue
    return total


def run_level(base_url: str, streams: int, concurrency: int, runs: int, work: Path) -> dict[str, float]:
    """Start a service verifying at `concurrency`; time `runs` warm runs."""
    listing = work / f"c{concurrency}.m3u"
    listing.write_text("#EXTM3U\n" + "".join(
        f"#EXTINF:-1,Feed {i}\n{base_url}/~id=s{concurrency}/many/{i}/index.m3u8\n" for i in range(streams)))
    config = work / f"c{concurrency}.toml"
    config.write_text(f"""
[schedule]
extract_every = "1h"
[health]
stale_check = false
[verify]
concurrency = {concurrency}
timeout = "20s"
[proxy]
allow_private_upstreams = true
[[sources]]
type = "m3u"
key = "bench"
path = "{listing}"
""")
    svc = Service(config, work / f"data-c{concurrency}").start()
    peak, done = 0, threading.Event()

    def sample() -> None:
        nonlocal peak
        assert svc.proc is not None
        while not done.wait(0.2):
            peak = max(peak, chromium_pss_kib(svc.proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        svc.wait_run(timeout=300)  # launches Chromium: not counted
        seconds, played = [], []
        for _ in range(runs):
            before = svc.json("/extractors")["runs_completed"]
            assert svc.request("POST", "/extract")[0] == 202
            status = svc.wait_run(after=before, timeout=300)
            seconds.append(status["last_run_duration_s"])
            played.append(sum(s["first_frame_ms"] is not None for s in svc.json("/streams")))
    finally:
        done.set()
        sampler.join()
        svc.stop()
    best = min(seconds)
    return {"concurrency": concurrency, "streams": streams, "played": min(played),
            "seconds": best, "per_minute": streams / best * 60, "all": seconds, "pss_mib": peak / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--levels", default="2,4,8")
    parser.add_argument("--runs", type=int, default=2, help="timed runs per level (the best is shown)")
    args = parser.parse_args()
    parent, child = multiprocessing.Pipe()
    origin = multiprocessing.get_context("spawn").Process(target=_origin_main, args=(child,), daemon=True)
    origin.start()
    rows = []
    try:
        base_url = parent.recv()
        with tempfile.TemporaryDirectory(prefix="slipstream-bench-") as tmp:
            for level in (int(x) for x in args.levels.split(",")):
                row = run_level(base_url, args.streams, level, args.runs, Path(tmp))
                print(f"concurrency {level}: {row['per_minute']:.0f} streams/min "
                      f"(runs {', '.join(f'{s:.1f}' for s in row['all'])} s), "
                      f"peak PSS {row['pss_mib']:.0f} MiB", flush=True)
                rows.append(row)
    finally:
        parent.send(None)
        origin.join(timeout=30)
    load = os.getloadavg()
    print(f"\n{platform.machine()}, {os.cpu_count()} CPUs, load average {load[0]:.2f} "
          f"{load[1]:.2f} {load[2]:.2f}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    print("| concurrency | streams | played | run seconds (best) | streams/min | peak Chromium PSS MiB |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['concurrency']} | {r['streams']} | {r['played']} | {r['seconds']:.1f} "
              f"| {r['per_minute']:.0f} | {r['pss_mib']:.0f} |")


if __name__ == "__main__":
    main()
