"""Load generator for bench/proxy.py: viewers pulling one segment per segment duration.

Run by bench/proxy.py as its own process: proxy_load.py URLS_JSON SECONDS
URLS_JSON holds one list of segment URLs per viewer. Viewer i starts at i/V of a
segment duration (staggered, as real players are) and asks for its k-th URL at
start + k * duration; a segment is late when its last byte arrives more than one
duration after it was due. Prints a JSON summary, the generator's own CPU included.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
from pathlib import Path

import aiohttp

SEGMENT_S = 2.0
READ = 1 << 20


class Stats:
    """What the viewers saw."""

    def __init__(self) -> None:
        self.bytes = 0
        self.failed = 0
        self.times: list[float] = []


async def fetch(session: aiohttp.ClientSession, url: str, stats: Stats) -> bool:
    """GET one segment, counting its bytes; False when it failed."""
    try:
        async with session.get(url) as resp:
            size = 0
            async for chunk in resp.content.iter_chunked(READ):
                size += len(chunk)
            stats.bytes += size
            return resp.status == 200 and size > 0
    except (aiohttp.ClientError, TimeoutError):
        return False


async def viewer(session: aiohttp.ClientSession, urls: list[str], start: float, stats: Stats) -> None:
    """One player: each segment due one duration after the last."""
    loop = asyncio.get_running_loop()
    for k, url in enumerate(urls):
        due = start + k * SEGMENT_S
        if (wait := due - loop.time()) > 0:
            await asyncio.sleep(wait)
        if not await fetch(session, url, stats):
            stats.failed += 1
        stats.times.append(loop.time() - due)


async def run(per_viewer: list[list[str]]) -> Stats:
    """All viewers at once, staggered over the first segment duration."""
    stats = Stats()
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False) as session:
        t0 = asyncio.get_running_loop().time() + 0.5
        count = len(per_viewer)
        await asyncio.gather(*(viewer(session, urls, t0 + SEGMENT_S * i / count, stats)
                               for i, urls in enumerate(per_viewer)))
    return stats


def summary(stats: Stats) -> dict[str, float]:
    """Counts and percentiles of the delivery times."""
    times = sorted(stats.times) or [0.0]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"bytes": stats.bytes, "requests": len(stats.times), "failed": stats.failed,
            "late": sum(1 for t in times if t > SEGMENT_S),
            "p50_s": times[len(times) // 2], "p99_s": times[int(len(times) * 0.99)], "max_s": times[-1],
            "gen_cpu_s": usage.ru_utime + usage.ru_stime}


def main() -> None:
    per_viewer = json.loads(Path(sys.argv[1]).read_text())
    try:
        import uvloop
        stats = uvloop.run(run(per_viewer))
    except ImportError:
        stats = asyncio.run(run(per_viewer))
    print(json.dumps(summary(stats)))


if __name__ == "__main__":
    main()
