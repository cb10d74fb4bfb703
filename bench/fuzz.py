"""Fuzz the parsers and the rewriter with the property checks of tests/unit/test_properties.py.

    flock /tmp/slipstream-bench.lock .venv/bin/python bench/fuzz.py [--cases 10000] [--seed 1] [--show]

The test suite runs each property on ~100 generated inputs; this runs `--cases` of
them per target, keeps going after a failure, and prints one row per target: cases
run, distinct failures (an exception type and the line that raised it), time, and
the slowest input found, timed again on its own (the best of 3). Exit status 1 when any case failed.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests" / "unit")]  # fuzz this checkout's code

import test_properties as props  # noqa: E402


def _m3u(args: tuple[str, str | None]) -> None:
    props.check_m3u(*args)


TARGETS: dict[str, tuple[st.SearchStrategy[Any], Callable[[Any], None]]] = {
    "parse_playlist (hls/playlist.py)": (props.hls_playlists(), props.check_parse),
    "rewrite_master + rewrite_media": (props.hls_playlists(), props.check_rewrite),
    "parse_m3u (extractors/m3u_parse.py)": (
        st.tuples(props.m3u_playlists(), st.sampled_from([None, "http://lists.example.com/a.m3u"])), _m3u),
    "token_expiry + refresh_due": (props.token_urls(), props.check_expiry),
}


@dataclass
class Tally:
    """What one target's run found."""

    cases: int = 0
    seconds: float = 0.0
    slowest_ms: float = 0.0
    slowest: Any = None
    failures: dict[str, tuple[int, Any]] = field(default_factory=dict)

    def record(self, exc: BaseException, value: Any) -> None:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}"
        count, first = self.failures.get(where, (0, value))
        self.failures[where] = (count + 1, first)


def fuzz(strategy: st.SearchStrategy[Any], check: Callable[[Any], None], cases: int, seed_value: int,
         ) -> Tally:
    """Run `check` on `cases` generated inputs, recording failures instead of stopping at one."""
    tally = Tally()

    @seed(seed_value)
    @settings(max_examples=cases, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(value: Any) -> None:
        tally.cases += 1
        started = time.perf_counter()
        try:
            check(value)
        except Exception as exc:  # counted and reported, never fatal: the point is to find them all
            tally.record(exc, value)
        elapsed_ms = (time.perf_counter() - started) * 1000
        if elapsed_ms > tally.slowest_ms:
            tally.slowest_ms, tally.slowest = elapsed_ms, value

    started = time.perf_counter()
    run()
    tally.seconds = time.perf_counter() - started
    if tally.cases and not tally.failures:  # the box is shared: re-time the worst input quietly
        tally.slowest_ms = min(_timed(check, tally.slowest) for _ in range(3))
    return tally


def _timed(check: Callable[[Any], None], value: Any) -> float:
    started = time.perf_counter()
    check(value)
    return (time.perf_counter() - started) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000, help="generated inputs per target")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--show", action="store_true", help="print the first input of each failure")
    args = parser.parse_args()
    print("| target | cases | distinct failures | time (s) | slowest input, re-timed (µs) |")
    print("|---|---:|---:|---:|---:|")
    failed = False
    for name, (strategy, check) in TARGETS.items():
        tally = fuzz(strategy, check, args.cases, args.seed)
        failed = failed or bool(tally.failures)
        print(f"| {name} | {tally.cases:,} | {len(tally.failures)} | {tally.seconds:.1f} | "
              f"{tally.slowest_ms * 1000:,.0f} |", flush=True)
        if args.show:
            print(f"      slowest input: {tally.slowest!r}"[:2000], file=sys.stderr)
        for where, (count, first) in tally.failures.items():
            print(f"|   {where} | {count} |", file=sys.stderr)
            if args.show:
                print(f"      first input: {first!r}"[:2000], file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
