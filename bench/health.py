"""Benchmark: the health check of 300 live streams against the local origin, vs iptv-checker.

Run: .venv/bin/python bench/health.py [--streams 300] [--latency-ms 50] [--reference-subset N]

The origin (tests/origin.py) runs in a child process with LATENCY added to every
response. Ours runs with the default [health] settings (concurrency 50), once with
the staleness check and once without, each --repeat times (the median is shown).
iptv-checker (npm, probes every URL with ffprobe) runs on the same URLs at its
fastest parallelism on this machine (--reference-parallel); install it first with
`npm install --prefix bench/.tools iptv-checker@0.30.3`.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from slipstream.config import HealthSettings  # noqa: E402
from slipstream.hls.health import HealthChecker  # noqa: E402
from slipstream.http import AddressGuard, build_client  # noqa: E402

IPTV_CHECKER = ROOT / "bench" / ".tools" / "node_modules" / ".bin" / "iptv-checker"
OUT = ROOT / "bench" / ".out" / "health"
TARGET_DURATION = 2.0  # the origin's segments


@dataclass
class Row:
    """One line of the results table."""

    tool: str
    streams: int
    seconds: float
    live: int
    cpu: float
    floor: float | None = None
    tight: float | None = None
    note: str = ""


def _serve_origin(latency: float, conn: Connection) -> None:
    from origin import TestOrigin  # tests/origin.py
    from slipstream.demo.media import ensure_media

    origin = TestOrigin(ensure_media(ROOT / ".cache" / "media")).start()
    origin.set_latency(latency)
    conn.send(origin.base_url)
    while True:  # answer hit counts until told to stop
        prefix = conn.recv()
        if prefix is None:
            break
        conn.send(origin.hits(prefix))
    origin.close()


class OriginProcess:
    """The test origin in a child process, so its CPU does not count against our checker."""

    def __init__(self, latency: float) -> None:
        self.conn, child = multiprocessing.Pipe()
        self.proc = multiprocessing.get_context("spawn").Process(
            target=_serve_origin, args=(latency, child), daemon=True)
        self.proc.start()
        self.base_url: str = self.conn.recv()

    def hits(self, prefix: str) -> int:
        """Requests the origin has answered under `prefix`."""
        self.conn.send(prefix)
        return int(self.conn.recv())

    def close(self) -> None:
        """Stop the origin and wait for the process."""
        self.conn.send(None)
        self.proc.join(timeout=30)


async def _time_ours(urls: list[str], settings: HealthSettings) -> tuple[float, int, float]:
    async with build_client(AddressGuard(allow_private=True), timeout=settings.timeout) as http:
        started, cpu = time.perf_counter(), time.process_time()
        results = await HealthChecker(http, settings).check_many([(u, {}) for u in urls])
        wall = time.perf_counter() - started
        return wall, sum(r.is_live for r in results), time.process_time() - cpu


def run_ours(urls: list[str], stale_check: bool, origin: OriginProcess, latency: float, repeat: int) -> Row:
    """Check every URL `repeat` times: the median run, floors from the requests really made."""
    settings = HealthSettings(stale_check=stale_check)
    before = origin.hits("/many/")
    runs = sorted(asyncio.run(_time_ours(urls, settings)) for _ in range(repeat))
    seconds, live, cpu = runs[len(runs) // 2]
    per_check = (origin.hits("/many/") - before) / len(urls) / repeat
    rounds = len(urls) / settings.concurrency
    wait = TARGET_DURATION if stale_check else 0.0
    floor = rounds * per_check * latency + wait
    # The brief's floor counts the reload in the rounds; really only the last check's reload
    # (one latency) follows the wait, since the waits of earlier checks overlap later fetches.
    tight = rounds * (per_check - 1) * latency + wait + latency if stale_check else floor
    what = "structure + newest segment bytes" + (" + staleness" if stale_check else "")
    note = f"{per_check:.1f} requests/check; median of {repeat}: " + ", ".join(f"{r[0]:.2f}" for r in runs)
    return Row(f"slipstream ({what})", len(urls), seconds, live, cpu, floor, tight, note)


def run_iptv_checker(urls: list[str], parallel: int, timeout_s: float, origin: OriginProcess) -> Row:
    """Run iptv-checker on an M3U of `urls` and count the entries it wrote to online.m3u."""
    OUT.mkdir(parents=True, exist_ok=True)
    playlist = OUT / "streams.m3u"
    playlist.write_text("#EXTM3U\n" + "".join(f"#EXTINF:-1,Stream {i}\n{u}\n" for i, u in enumerate(urls)))
    out_dir = OUT / "iptv-checker"
    command = [str(IPTV_CHECKER), "-p", str(parallel), "-t", str(int(timeout_s * 1000)),
               "-o", str(out_dir), str(playlist)]
    before = origin.hits("/many/")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # node and every ffprobe it ran
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
    online = len(re.findall(r"^#EXTINF", (out_dir / "online.m3u").read_text(), flags=re.M))
    per_check = (origin.hits("/many/") - before) / len(urls)
    return Row(f"iptv-checker 0.30.3 (ffprobe, -p {parallel})", len(urls), seconds, online, cpu,
               note=f"{per_check:.1f} requests/check")


def table(rows: list[Row], total: int, latency: float) -> str:
    """The results as a Markdown table, per-stream times scaled to `total` streams."""
    lines = ["| tool | streams run | wall time | CPU time | live/online | floor | ratio to floor "
             "| tight floor | ratio to tight floor | note |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cells = [f"{r.floor:.2f} s", f"{r.seconds / r.floor:.2f}×", f"{r.tight:.2f} s",
                 f"{r.seconds / r.tight:.2f}×"] if r.floor and r.tight else ["—"] * 4
        lines.append(f"| {r.tool} | {r.streams} | {r.seconds:.2f} s | {r.cpu:.2f} s | {r.live}/{r.streams} | "
                     + " | ".join(cells) + f" | {r.note} |")
    ours = [r for r in rows if r.tool.startswith("slipstream")]
    for ref in (r for r in rows if r.tool.startswith("iptv-checker")):
        projected = ref.seconds * total / ref.streams
        how = "measured" if ref.streams == total else f"EXTRAPOLATED from {ref.streams} streams"
        lines.append(f"\n{ref.tool} on {total} streams: {projected:.1f} s ({how}).")
        cpu = ref.cpu * total / ref.streams
        lines += [f"- {r.tool}: {projected / r.seconds:.1f}× faster, {cpu / r.cpu:.0f}× less CPU"
                  for r in ours]
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    lines.append(f"\nLoad average at the end (other jobs share the machine): {load}.")
    lines.append(f"Latency added per response: {latency * 1000:.0f} ms; "
                 f"target duration {TARGET_DURATION:.0f} s.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=300)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--reference-subset", type=int, default=0,
                        help="run iptv-checker on only this many streams (and say so)")
    parser.add_argument("--reference-parallel", type=int, default=16,
                        help="iptv-checker's -p; 16 was its fastest here (sweep in bench/README.md)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of ours; the median is shown")
    parser.add_argument("--no-reference", action="store_true", help="skip iptv-checker")
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    origin = OriginProcess(latency)
    try:
        urls = [f"{origin.base_url}/many/{i}/index.m3u8" for i in range(args.streams)]
        rows = [run_ours(urls, True, origin, latency, args.repeat),
                run_ours(urls, False, origin, latency, args.repeat)]
        if not args.no_reference and not IPTV_CHECKER.exists():
            print(f"iptv-checker not found at {IPTV_CHECKER.relative_to(ROOT)}: skipped "
                  "(`make bench` installs it; or npm install --prefix bench/.tools iptv-checker@0.30.3)")
        elif not args.no_reference:
            subset = urls[: args.reference_subset or len(urls)]
            rows.append(run_iptv_checker(subset, args.reference_parallel, HealthSettings().timeout, origin))
    finally:
        origin.close()
    print(table(rows, args.streams, latency))


if __name__ == "__main__":
    main()
