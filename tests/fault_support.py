"""Shared by the fault tests: a service on a config text, /streams p99 under a fault, the store's contents.

`assert_p99_holds` is the bound of the issue "Holding up": while a fault lasts,
`/streams` p99 over 500 sequential requests stays within twice the quiet p99 plus 5 ms.
"""

from __future__ import annotations

import http.client
import json
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from runner import Service

REQUESTS = 500
FLOOR_MS = 5.0


@contextmanager
def serving(tmp: Path, text: str) -> Iterator[Service]:
    (tmp / "slipstream.toml").write_text(text)
    svc = Service(tmp / "slipstream.toml", tmp / "data").start()
    try:
        yield svc
    finally:
        svc.stop()


def latencies(svc: Service, count: int = REQUESTS) -> list[float]:
    """`count` sequential GET /streams on one keep-alive connection, in milliseconds (after 20 unmeasured)."""
    conn = http.client.HTTPConnection("127.0.0.1", svc.port, timeout=10)
    samples: list[float] = []
    try:
        for _ in range(count + 20):
            started = time.perf_counter()
            conn.request("GET", "/streams")
            resp = conn.getresponse()
            body = resp.read()
            samples.append((time.perf_counter() - started) * 1000)
            assert resp.status == 200 and body.startswith(b"["), (resp.status, body[:200])
    finally:
        conn.close()
    return samples[20:]


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


def quiet_p99(svc: Service) -> float:
    """/streams p99 with nothing running: the better of two tries (the box is shared)."""
    return min(p99(latencies(svc)) for _ in range(2))


def assert_p99_holds(svc: Service, quiet: float, what: str, lasts: Callable[[], bool] | None = None) -> None:
    """/streams p99 while a fault lasts stays within 2x the quiet p99 + 5 ms.

    A try that misses the bound is repeated (3 in all) while the fault still lasts and
    the best counts, as for the quiet figure; a fault that really slows /streams fails all.
    """
    bound, best = 2 * quiet + FLOOR_MS, float("inf")
    for _ in range(3):
        during = p99(latencies(svc))
        still = lasts() if lasts is not None else svc.json("/extractors")["running"]
        assert still, f"{what}: over before /streams was measured"
        best = min(best, during)
        if best <= bound:
            break
    print(f"/streams p99: quiet {quiet:.2f} ms, during {what} {best:.2f} ms")  # with -s: bench/README
    assert best <= bound, f"/streams p99 {best:.1f} ms during {what}, {quiet:.1f} ms quiet"


def trigger(svc: Service) -> int:
    """Start a run through the admin route; returns how many runs had finished before it."""
    before: int = svc.json("/extractors")["runs_completed"]
    assert svc.request("POST", "/extract")[0] == 202
    return before


def titles(svc: Service, path: str = "/streams") -> set[str]:
    return {s["title"] for s in svc.json(path)}


def log_text(svc: Service) -> str:
    """The whole service log with whitespace collapsed (the console handler wraps long lines)."""
    return " ".join(svc.log_path.read_text(errors="replace").split())


def stored_titles(db: Path, site_key: str = "tv") -> set[str]:
    """The titles the SQLite store holds for one extractor."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT streams FROM cache WHERE site_key = ?", (site_key,)).fetchall()
    return {s["title"] for (blob,) in rows for s in json.loads(blob)}
