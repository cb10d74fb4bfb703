"""Load: GET /streams under wrk, memory with many cached streams, 200 viewers through the proxy.

    flock /tmp/slipstream-bench.lock .venv/bin/python bench/load.py [--part streams|memory|viewers]

- streams: `slipstream serve` over a SQLite store filled with 2,000 live streams through
  the store API before start (no sources, so nothing replaces them), as shipped and with
  its access log on, under wrk: one
  thread, 10 and 50 connections, identity, gzip and revalidated (If-None-Match) forms;
  the same bytes as static files from nginx (1 worker, sendfile, gzip_static) in the same run.
- memory: VmRSS and VmHWM of the service serving 10,000 cached streams, after warm-up.
- viewers: 200 players (aiohttp, in their own process) watch 200 streams of the local
  origin for --watch-seconds: POST /streams/{id}/watch, then every target duration the
  master, the variant and each new segment through the proxy. Any failure is an error.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import multiprocessing
import os
import re
import subprocess
import sys
import time
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from health import OriginProcess  # noqa: E402  (bench/health.py: the test origin in a child process)

from runner import Service  # noqa: E402
from slipstream.models import Stream, utcnow_iso  # noqa: E402
from slipstream.store.sqlite import SqliteStore  # noqa: E402

OUT = ROOT / "bench" / ".out" / "load"
NGINX = """worker_processes 1; daemon off; pid {d}/nginx.pid; error_log {d}/error.log;
events {{ worker_connections 1024; }}
http {{ access_log off; sendfile on; tcp_nopush on; gzip_static on; open_file_cache max=16;
  client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d};
  uwsgi_temp_path {d}; scgi_temp_path {d};
  server {{ listen 127.0.0.1:{port}; root {d}; location /streams {{ default_type application/json; }} }} }}
"""
SERIES = ["F1", "F2", "MotoGP", "WRC", "IndyCar", "WEC"]
SESSIONS = ["Race", "Qualifying", "Sprint", "FP1", "Onboard"]


def fake_streams(count: int, base: str) -> list[Stream]:
    """Live streams as real sources list them: tokenised URLs, tagged titles, varied response times."""
    token = os.urandom(16).hex
    return [Stream(
        url=f"{base}/~id={i}/live/master.m3u8?token={token()}&exp=1900000000", site_key="bench",
        site_name="Bench list", title=f"{SERIES[i % 6]} {SESSIONS[i % 5]} feed {i} (720p)",
        quality="720p",
        series=SERIES[i % 6].lower(), session_type=SESSIONS[i % 5].lower(), group="Motorsport",
        is_live=True, reason="ok", response_time_ms=float(20 + i * 7 % 900), bitrate=1_200_000,
        uptime=0.98, checked_at=utcnow_iso()) for i in range(count)]


def prefilled(folder: Path, count: int, base: str = "http://127.0.0.1:9") -> Service:
    """A service (not started) whose SQLite store already holds `count` live streams."""
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "slipstream.db").unlink(missing_ok=True)

    async def fill() -> None:
        store = SqliteStore(data / "slipstream.db")
        await store.open()
        await store.save_entry("bench", fake_streams(count, base))
        await store.close()
    asyncio.run(fill())
    (folder / "slipstream.toml").write_text('[schedule]\nextract_every = "1h"\n[verify]\nenabled = false\n'
                                            "[proxy]\nallow_private_upstreams = true\n")
    return Service(folder / "slipstream.toml", data)


def wrk(url: str, seconds: int, connections: int, *headers: str) -> dict[str, float]:
    """wrk -t1: requests/s and latency percentiles (ms)."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
           *(arg for header in headers for arg in ("-H", header))]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    pct = {p: float(v) * unit[u] for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)$", out, re.M)}
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = sum(map(int, sockets.groups() if sockets else ())) + (int(bad[1]) if bad else 0)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),  # type: ignore[index]
            "p50": pct["50"], "p99": pct["99"], "errors": errors}


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return tuple(int(re.search(rf"{k}:\s+(\d+)", status)[1]) / 1024 for k in ("VmRSS", "VmHWM"))  # type: ignore


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_streams(args: argparse.Namespace) -> list[str]:
    folder = OUT / "streams"
    prefilled(folder, args.streams)
    results: dict[str, dict[tuple[int, str], dict[str, float]]] = {}
    config, data = folder / "slipstream.toml", folder / "data"
    for name, svc in (("serve", Service(config, data)),
                      ("logged", Service(config, data, SLIPSTREAM_SERVER__ACCESS_LOG="true"))):
        svc.start()
        try:
            body = svc.get("/streams")[1]
            results[name] = _forms(svc.url("/streams"), args.seconds)
            rss = rss_mb(svc.proc.pid)  # type: ignore[union-attr]
        finally:
            svc.stop()
    (folder / "streams").write_bytes(body)
    (folder / "streams.gz").write_bytes(gzip.compress(body, 6))
    with nginx(folder) as ref:
        results["nginx"] = _forms(ref, args.seconds)
    head = [f"{args.streams:,} streams: /streams is {len(body):,} bytes, "
            f"{(folder / 'streams.gz').stat().st_size:,} gzipped; service RSS {rss[0]:.0f} MB", "",
            "| connections | form | `slipstream serve` req/s | p99 ms | with `access_log = true` req/s "
            "| p99 ms | nginx req/s | p99 ms |",
            "|---:|---|---:|---:|---:|---:|---:|---:|"]
    rows = [f"| {conns} | {form} | " + " | ".join(
        f"{results[n][conns, form]['rps']:,.0f} | {results[n][conns, form]['p99']:.2f}"
        for n in ("serve", "logged", "nginx")) + " |" for conns, form in results["serve"]]
    return head + rows


def _forms(url: str, seconds: int) -> dict[tuple[int, str], dict[str, float]]:
    """wrk over the three forms of one /streams URL, at 10 and 50 connections."""
    forms = {"identity": (), "gzip": ("Accept-Encoding: gzip",), "304": (f"If-None-Match: {_etag(url)}",)}
    out = {}
    for conns in (10, 50):
        for form, headers in forms.items():
            out[conns, form] = result = wrk(url, seconds, conns, *headers)
            assert result["errors"] == 0, (url, form, result)
    return out


def _etag(url: str) -> str:
    out = subprocess.run(["curl", "-s", "-D", "-", "-o", "/dev/null", url],
                         capture_output=True, text=True, check=True).stdout
    return re.search(r"(?im)^etag:\s*(.+?)\s*$", out)[1]  # type: ignore[index]


class nginx:  # noqa: N801 - used as a context manager like open()
    """nginx serving `folder`/streams (and streams.gz) on a free port."""

    def __init__(self, folder: Path) -> None:
        from runner import free_port
        self.port, self.folder = free_port(), folder

    def __enter__(self) -> str:
        conf = self.folder / "nginx.conf"
        conf.write_text(NGINX.format(d=self.folder, port=self.port))
        self.proc = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(self.folder)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{self.port}/streams"
        deadline = time.monotonic() + 10
        while subprocess.run(["curl", "-sf", "-o", "/dev/null", url]).returncode != 0:
            assert time.monotonic() < deadline and self.proc.poll() is None, "nginx did not start"
            time.sleep(0.1)
        return url

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def bench_memory(args: argparse.Namespace) -> list[str]:
    svc = prefilled(OUT / "memory", args.memory_streams).start()
    try:
        gzipped = {"Accept-Encoding": "gzip"}
        for path, headers in (("/streams", {}), ("/streams", gzipped), ("/streams/all", {})):
            for _ in range(20):
                assert svc.get(path, headers)[0] == 200
        rss, peak = rss_mb(svc.proc.pid)  # type: ignore[union-attr]
    finally:
        svc.stop()
    return [f"| {args.memory_streams:,} cached streams | {rss:.0f} MB | {peak:.0f} MB | 150 MB |"]


# --- viewers ---------------------------------------------------------------------------------

TARGET_S = 2.0  # the origin's target duration: players reload once per target duration


class Tally:
    """What the players saw, per kind of request."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {"watch": [], "master": [], "variant": [], "segment": []}
        self.errors: Counter[str] = Counter()
        self.first_errors: list[str] = []
        self.bytes = 0

    def failed(self, kind: str, why: str) -> None:
        self.errors[kind] += 1
        if len(self.first_errors) < 5:
            self.first_errors.append(f"{kind}: {why}")


async def _get(session: aiohttp.ClientSession, url: str, kind: str, tally: Tally, method: str = "GET",
               ) -> bytes | None:
    started = time.perf_counter()
    try:
        async with session.request(method, url) as resp:
            body = await resp.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        tally.failed(kind, f"{type(exc).__name__} on {url}")
        return None
    tally.times[kind].append((time.perf_counter() - started) * 1000)
    tally.bytes += len(body)
    if resp.status != 200 or not body or (kind in ("master", "variant") and not body.startswith(b"#EXTM3U")):
        tally.failed(kind, f"{resp.status} ({len(body)} bytes) on {url}")
        return None
    return body


def _uris(playlist: bytes | None) -> list[str]:
    lines = (playlist or b"").decode(errors="replace").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


async def player(session: aiohttp.ClientSession, base: str, sid: str, deadline: float, tally: Tally) -> None:
    """One hls.js-like player: watch, then every target duration master -> variant -> new segments."""
    watched = await _get(session, f"{base}/streams/{sid}/watch", "watch", tally, method="POST")
    proxy = re.search(rb'"proxy_url":"([^"]+)"', watched or b"")
    if proxy is None:
        return
    loop, seen = asyncio.get_running_loop(), set[str]()
    for _ in range(int((deadline - loop.time()) / TARGET_S) + 2):  # bounded by count and by time
        if loop.time() >= deadline:
            return
        began = loop.time()
        variant = _uris(await _get(session, base + proxy[1].decode(), "master", tally))[:1]
        media = await _get(session, base + variant[0], "variant", tally) if variant else None
        for segment in [u for u in _uris(media)[-3:] if u not in seen]:  # a live start: 3 from the edge
            if await _get(session, base + segment, "segment", tally) is not None:
                seen.add(segment)
        await asyncio.sleep(max(0.0, TARGET_S - (loop.time() - began)))


async def _players(base: str, ids: list[str], seconds: float) -> Tally:
    tally = Tally()
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=timeout) as session:
        deadline = asyncio.get_running_loop().time() + seconds

        async def staggered(i: int, sid: str) -> None:
            await asyncio.sleep(TARGET_S * i / len(ids))  # players do not start in lockstep
            await player(session, base, sid, deadline, tally)
        await asyncio.gather(*(staggered(i, sid) for i, sid in enumerate(ids)))
    return tally


def run_players(base: str, ids: list[str], seconds: float, conn: Connection) -> None:
    """The player process: run every player, send back a summary."""
    import resource

    tally = asyncio.run(_players(base, ids, seconds))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    conn.send({"times": tally.times, "errors": dict(tally.errors), "first_errors": tally.first_errors,
               "bytes": tally.bytes, "cpu": usage.ru_utime + usage.ru_stime})


def bench_viewers(args: argparse.Namespace) -> list[str]:
    origin = OriginProcess(0.0)
    try:
        svc = prefilled(OUT / "viewers", args.viewers, origin.base_url).start()
        try:
            ids = [s["id"] for s in svc.json("/streams")]
            pid = svc.proc.pid  # type: ignore[union-attr]
            cpu, started = cpu_seconds(pid), time.monotonic()
            parent, child = multiprocessing.Pipe()
            proc = multiprocessing.get_context("spawn").Process(
                target=run_players, args=(svc.base_url, ids, args.watch_seconds, child), daemon=True)
            proc.start()
            assert parent.poll(args.watch_seconds + 120), "the players never reported"
            summary: dict[str, Any] = parent.recv()
            proc.join(30)
            wall, cpu = time.monotonic() - started, cpu_seconds(pid) - cpu
            watched, rss = len(svc.json("/active")), rss_mb(pid)
        finally:
            svc.stop()
    finally:
        origin.close()
    return viewer_table(args, summary, watched, wall, cpu, rss[1])


def viewer_table(args: argparse.Namespace, s: dict[str, Any], watched: int, wall: float, cpu: float,
                 peak: float) -> list[str]:
    def pct(values: list[float], q: float) -> float:
        return sorted(values)[min(len(values) - 1, int(q * len(values)))] if values else float("nan")
    lines = [f"{len(s['times']['watch'])} viewers for {args.watch_seconds:.0f} s: {watched} streams watched, "
             f"{sum(s['errors'].values())} errors {s['first_errors'] or ''}; "
             f"{s['bytes'] / wall / 1e6:.1f} MB/s "
             f"through the proxy; service CPU {cpu / wall:.0%} of a core, peak RSS {peak:.0f} MB; "
             f"players' CPU {s['cpu'] / wall:.0%}", "",
             "| request | count | errors | p50 ms | p99 ms |", "|---|---:|---:|---:|---:|"]
    for kind, times in s["times"].items():
        lines.append(f"| {kind} | {len(times) + s['errors'].get(kind, 0):,} | {s['errors'].get(kind, 0)} | "
                     f"{pct(times, 0.5):.1f} | {pct(times, 0.99):.1f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["streams", "memory", "viewers", "all"], default="all")
    parser.add_argument("--streams", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=10, help="per wrk run")
    parser.add_argument("--memory-streams", type=int, default=10_000)
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--watch-seconds", type=float, default=120.0)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load average {load[0]:.1f} at start\n")
    parts = {"streams": bench_streams, "memory": bench_memory, "viewers": bench_viewers}
    for name, bench in parts.items():
        if args.part in (name, "all"):
            print("\n".join(bench(args)) + "\n", flush=True)


if __name__ == "__main__":
    main()
