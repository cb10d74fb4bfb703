"""Benchmark: playback verification of 20 live streams at concurrency 1, 2, 4 and 8.

Run: .venv/bin/python bench/verify.py [--streams 20] [--levels 1,2,4,8] [--timeout 20]

The origin (tests/origin.py) runs in a child process so its CPU is not ours; the
streams are distinct live TS streams (/many/{i}/index.m3u8). For each level a fresh
verifier launches Chromium before the clock starts, then verify_many plays every
stream. Memory is the peak, over 0.2 s samples, of the summed Pss
(/proc/<pid>/smaps_rollup) of the verifier's Chromium processes; the Playwright
driver (node) is shown apart. CPU per stream counts the Chromium tree (exited
renderers through their parents' cutime), the driver and this process: on a machine
shared with other work it is steadier than wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import platform
import resource
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from slipstream.config import VerifySettings  # noqa: E402
from slipstream.playback import PlaybackVerifier  # noqa: E402
from slipstream.playback.browser import BrowserHost  # noqa: E402


def _origin_main(conn: Connection) -> None:
    from origin import TestOrigin
    from slipstream.demo.media import ensure_media

    server = TestOrigin(ensure_media(ROOT / ".cache" / "media")).start()
    conn.send(server.base_url)
    conn.recv()  # block until the parent is done
    server.close()


def pss_kib(pid: int) -> int:
    """Proportional set size of one process in KiB (0 if it is gone)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def driver_pid(host: BrowserHost) -> int | None:
    """The Playwright driver: the parent of the browser process."""
    root = host.root_pid()
    if root is None:
        return None
    stat = Path(f"/proc/{root}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def cpu_seconds(pids: list[int]) -> float:
    """User+system CPU of `pids`, including their reaped children (exited renderers)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def verifier_cpu(host: BrowserHost) -> float:
    """CPU seconds of the browser tree, the Playwright driver and this process."""
    driver = driver_pid(host)
    own = resource.getrusage(resource.RUSAGE_SELF)
    return cpu_seconds(host.pids() + ([driver] if driver else [])) + own.ru_utime + own.ru_stime


@dataclass
class Peak:
    """Peak memory seen by the sampler."""

    browser_kib: int = 0
    driver_kib: int = 0
    processes: int = 0


async def sample(host: BrowserHost, peak: Peak, stop: asyncio.Event) -> None:
    """Record the peak summed Pss of the browser's processes until `stop` is set."""
    driver = driver_pid(host)
    while not stop.is_set():
        pids = host.pids()
        peak.browser_kib = max(peak.browser_kib, sum(pss_kib(p) for p in pids))
        peak.processes = max(peak.processes, len(pids))
        if driver is not None:
            peak.driver_kib = max(peak.driver_kib, pss_kib(driver))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.2)


@dataclass
class Row:
    """One line of the results table."""

    concurrency: int
    streams: int
    seconds: float
    playable: int
    first_frame_ms: float
    cpu_s: float
    peak: Peak

    @property
    def per_minute(self) -> float:
        return self.streams / self.seconds * 60


async def run_level(base_url: str, streams: int, concurrency: int, deadline_s: float) -> Row:
    """Verify `streams` live streams at one concurrency level."""
    verifier = PlaybackVerifier(VerifySettings(concurrency=concurrency, timeout=deadline_s))
    if not verifier.available or verifier.host is None:
        raise SystemExit(f"verifier unavailable: {verifier.unavailable_reason}")
    await verifier.host.get()
    items = [(f"{base_url}/~id=c{concurrency}/many/{i}/index.m3u8", {}, "hls")
             for i in range(streams)]
    peak, stop = Peak(), asyncio.Event()
    sampler = asyncio.create_task(sample(verifier.host, peak, stop))
    cpu_before, started = verifier_cpu(verifier.host), time.monotonic()
    verdicts = await verifier.verify_many(items)
    seconds = time.monotonic() - started
    cpu = verifier_cpu(verifier.host) - cpu_before
    stop.set()
    await sampler
    await verifier.close()
    frames = sorted(v.elapsed_ms for v in verdicts.values() if v.elapsed_ms is not None)
    median = frames[len(frames) // 2] if frames else float("nan")
    playable = sum(v.is_playable for v in verdicts.values())
    return Row(concurrency, streams, seconds, playable, median, cpu, peak)


def table(rows: list[Row]) -> str:
    """The results as a Markdown table."""
    lines = ["| concurrency | streams | playable | seconds | streams/min | median first frame ms "
             "| CPU s/stream | peak Chromium PSS MiB | peak processes | driver PSS MiB |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r.concurrency} | {r.streams} | {r.playable} | {r.seconds:.1f} "
                     f"| {r.per_minute:.0f} | {r.first_frame_ms:.0f} | {r.cpu_s / r.streams:.2f} "
                     f"| {r.peak.browser_kib / 1024:.0f} | {r.peak.processes} "
                     f"| {r.peak.driver_kib / 1024:.0f} |")
    return "\n".join(lines)


async def main(args: argparse.Namespace, base_url: str) -> None:
    rows = []
    for level in (int(x) for x in args.levels.split(",")):
        row = await run_level(base_url, args.streams, level, args.timeout)
        print(f"concurrency {level}: {row.per_minute:.0f} streams/min, "
              f"peak PSS {row.peak.browser_kib / 1024:.0f} MiB", flush=True)
        rows.append(row)
    load = os.getloadavg()
    print(f"\n{platform.machine()}, {os.cpu_count()} CPUs, load average {load[0]:.2f} "
          f"{load[1]:.2f} {load[2]:.2f}\n")
    print(table(rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--levels", default="1,2,4,8")
    parser.add_argument("--timeout", type=float, default=20.0)
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.get_context("spawn").Process(target=_origin_main, args=(child,),
                                                        daemon=True)
    proc.start()
    try:
        asyncio.run(main(parser.parse_args(), parent.recv()))
    finally:
        parent.send(None)
        proc.join(timeout=30)
