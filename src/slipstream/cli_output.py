"""Rich tables and progress bars for the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from slipstream.models import HealthResult, Stream, Verdict
from slipstream.service import Progress as ProgressFn

out = Console()
_PHASES = {"extract": "Extracting", "health": "Health checks", "verify": "Playback checks"}


@contextmanager
def run_progress(enabled: bool = True) -> Iterator[ProgressFn]:
    """A progress callback `(phase, done, total)` drawing one bar per phase on stderr."""
    if not enabled:
        yield lambda *_: None
        return
    columns = (TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        tasks: dict[str, Any] = {}

        def update(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(_PHASES.get(phase, phase), total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield update


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def print_streams_table(streams: list[Stream]) -> None:
    """The streams of a run, ranked, live ones first."""
    table = Table(title=f"{sum(s.is_live for s in streams)} live of {len(streams)} streams")
    for name in ("#", "live", "title", "source", "quality", "tags", "ms", "first frame", "reason"):
        table.add_column(name, overflow="fold")
    for i, s in enumerate(streams, 1):
        tags = " ".join(t for t in (s.series, s.session_type) if t)
        table.add_row(str(i), "[green]yes[/green]" if s.is_live else "[red]no[/red]", s.title,
                      s.site_key, s.quality or "", tags, _ms(s.response_time_ms),
                      _ms(s.first_frame_ms), s.reason or "")
    out.print(table)


def check_rows(results: list[HealthResult], verdicts: dict[str, Verdict] | None,
               ) -> list[dict[str, Any]]:
    """The JSON objects of `slipstream check`, one per URL."""
    rows = []
    for r in results:
        row: dict[str, Any] = {"url": r.url, "is_live": r.is_live, "reason": r.reason,
                               "response_time_ms": r.response_time_ms, "bitrate": r.bitrate}
        if verdicts is not None:
            v = verdicts.get(r.url)
            row.update(is_playable=bool(v and v.is_playable),
                       elapsed_ms=v.elapsed_ms if v else None,
                       verify_reason=v.reason if v else "not verified")
        rows.append(row)
    return rows


def print_check_table(rows: list[dict[str, Any]]) -> None:
    """`slipstream check` as a table."""
    table = Table()
    verify = bool(rows) and "is_playable" in rows[0]
    names = ["url", "live", "reason", "ms", "bitrate"] + (["plays", "first frame", "why"] if verify else [])
    for name in names:
        table.add_column(name, overflow="fold")
    for r in rows:
        cells = [r["url"], "[green]yes[/green]" if r["is_live"] else "[red]no[/red]", r["reason"],
                 _ms(r["response_time_ms"]), str(r["bitrate"] or "-")]
        if verify:
            cells += ["[green]yes[/green]" if r["is_playable"] else "[red]no[/red]",
                      _ms(r["elapsed_ms"]), r["verify_reason"]]
        table.add_row(*cells)
    out.print(table)
