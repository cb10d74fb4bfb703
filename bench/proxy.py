"""Benchmark: segment throughput through slipstream's proxy, nginx proxy_pass and mediaflow-proxy.

Run: flock /tmp/slipstream-bench.lock .venv/bin/python bench/proxy.py
         [--levels 100,200,300,400,600,800,1000,1300,1600] [--seconds 20] [--cpu-viewers 100]
         [--only slipstream,nginx,mediaflow]

Each viewer pulls one 1.5 MB segment every 2 s (6 Mbit/s) through the proxy from a
local origin (nginx serving static random-byte .ts files, one worker). Every request
carries a unique query so no proxy can answer from a cache. Reported per proxy:
- CPU seconds per GB moved (utime+stime of the proxy's processes from /proc, at
  --cpu-viewers viewers), and the load generator's own CPU in the same phase;
- the most viewers (from --levels, climbing until one fails, then two bisection steps
  below the failing level) for which no segment took longer than its 2 s duration and
  none failed.
The load generator is a separate process (aiohttp on uvloop). On a 2-core machine it
competes with the proxy for CPU, so capacity figures are a floor; CPU per GB is not
affected. nginx proxy_pass is tuned for large bodies (buffers 16x256k, no temp file).
mediaflow-proxy must be installed in bench/.tools/mediaflow (see bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from proxy_servers import (
    SEGMENT_S,
    Proxy,
    free_port,
    make_media,
    nginx_origin,
    nginx_proxy,
    proc_cpu,
    start_mediaflow,
    start_slipstream,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / ".out" / "proxy"
LOCK = "/tmp/slipstream-bench.lock"  # every run goes under `flock` on it: runs never overlap


def run_load(proxy: Proxy, viewers: int, seconds: float) -> dict[str, float]:
    """Run the load generator against `proxy`; its JSON summary plus the proxy's CPU."""
    urls = OUT / f"urls-{proxy.name}.json"
    urls.write_text(json.dumps([proxy.urls(v, int(seconds / SEGMENT_S)) for v in range(viewers)]))
    cpu0, t0 = proc_cpu(proxy.pids()), time.monotonic()
    out = subprocess.run([sys.executable, str(Path(__file__).with_name("proxy_load.py")), str(urls),
                          str(seconds)], capture_output=True, text=True, timeout=seconds + 120)
    if out.returncode:
        raise RuntimeError(f"load generator failed: {out.stderr[-2000:]}")
    result: dict[str, float] = json.loads(out.stdout)
    result["proxy_cpu_s"] = proc_cpu(proxy.pids()) - cpu0
    result["wall_s"] = time.monotonic() - t0
    return result


def ramp_level(proxy: Proxy, viewers: int, seconds: float, ramp: list[dict[str, object]]) -> bool:
    """One load level; True when no segment was late and none failed."""
    result = run_load(proxy, viewers, seconds)
    ok = result["late"] == 0 and result["failed"] == 0
    ramp.append({"viewers": viewers, "ok": ok, **result})
    print(f"  {proxy.name}: {viewers} viewers -> late {result['late']:.0f}, "
          f"failed {result['failed']:.0f}, p99 {result['p99_s']:.2f}s, max {result['max_s']:.2f}s, "
          f"proxy CPU {result['proxy_cpu_s'] / result['wall_s']:.0%}, "
          f"generator CPU {result['gen_cpu_s'] / result['wall_s']:.0%}", flush=True)
    return ok


def measure(proxy: Proxy, levels: list[int], seconds: float, cpu_viewers: int) -> dict[str, object]:
    """CPU per GB at a fixed load, then the viewer ramp; a failed level is bisected twice."""
    cpu = run_load(proxy, cpu_viewers, seconds)
    gb = cpu["bytes"] / 1e9
    ramp: list[dict[str, object]] = []
    best, failed = 0, None
    for viewers in levels:
        if not ramp_level(proxy, viewers, seconds, ramp):
            failed = viewers
            break
        best = viewers
    for _ in range(2 if failed else 0):
        mid = (best + failed) // 2  # type: ignore[operator]
        if ramp_level(proxy, mid, seconds, ramp):
            best = mid
        else:
            failed = mid
    return {"proxy": proxy.name, "cpu_s_per_gb": cpu["proxy_cpu_s"] / gb,
            "gen_cpu_s_per_gb": cpu["gen_cpu_s"] / gb, "cpu_phase": cpu, "ramp": ramp,
            "max_viewers": best, "first_failed": failed}


def table(rows: list[dict[str, object]], args: argparse.Namespace, load_before: float) -> str:
    """The results as a Markdown table, with what was run."""
    nginx = next((r for r in rows if r["proxy"] == "nginx"), None)
    lines = [f"Machine: {platform.node()} ({os.cpu_count()} cores, {platform.machine()}), "
             f"{time.strftime('%Y-%m-%d %H:%M')}; load average before the run: {load_before:.1f}",
             f"Command: flock {LOCK} .venv/bin/python bench/proxy.py --levels "
             f"{args.levels} --seconds {args.seconds:g} --cpu-viewers {args.cpu_viewers}", "",
             "| proxy | CPU s/GB | vs nginx | generator CPU s/GB | max viewers (no late segment) |",
             "|---|---|---|---|---|"]
    for r in rows:
        ratio = f"{r['cpu_s_per_gb'] / nginx['cpu_s_per_gb']:.1f}x" if nginx else "-"  # type: ignore[operator]
        lines.append(f"| {r['proxy']} | {r['cpu_s_per_gb']:.2f} | {ratio} | {r['gen_cpu_s_per_gb']:.2f} | "
                     f"{r['max_viewers']}{'+' if r['first_failed'] is None else ''} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="100,200,300,400,600,800,1000,1300,1600")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--cpu-viewers", type=int, default=100)
    parser.add_argument("--only", default="slipstream,nginx,mediaflow")
    args = parser.parse_args()
    args.level_list = [int(x) for x in args.levels.split(",")]
    OUT.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    media = make_media(OUT / "media")
    rows = []
    with nginx_origin(OUT, media, free_port()) as origin:
        starters = {"slipstream": start_slipstream, "nginx": nginx_proxy, "mediaflow": start_mediaflow}
        for name in args.only.split(","):
            print(f"{name}:", flush=True)
            with starters[name](OUT, origin, free_port()) as proxy:
                rows.append(measure(proxy, args.level_list, args.seconds, args.cpu_viewers))
    report = table(rows, args, load_before)
    (OUT / "results.json").write_text(json.dumps(rows, indent=1))
    print(report)


if __name__ == "__main__":
    main()
