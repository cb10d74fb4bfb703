"""Dedupe and ranking of streams (pure)."""

from __future__ import annotations

from collections.abc import Iterable

from slipstream.models import Stream

_INF = float("inf")


def dedupe(streams: Iterable[Stream]) -> list[Stream]:
    """Keep the first stream of each canonical URL, in order."""
    seen: set[str] = set()
    out: list[Stream] = []
    for stream in streams:
        key = stream.canonical
        if key not in seen:
            seen.add(key)
            out.append(stream)
    return out


def rank_key(stream: Stream) -> tuple[bool, float, float, str]:
    """Live first, then fastest response, then fastest first frame, then title."""
    rt = stream.response_time_ms if stream.response_time_ms is not None else _INF
    ff = stream.first_frame_ms if stream.first_frame_ms is not None else _INF
    return (not stream.is_live, rt, ff, stream.title.lower())


def rank(streams: Iterable[Stream]) -> list[Stream]:
    """All streams, best first."""
    return sorted(streams, key=rank_key)


# A filter name that groups several session tags (the web UI's filters group them the same way).
SESSION_GROUPS = {
    "qualifying": frozenset({"qualifying", "sprint-qualifying"}),
    "sprint": frozenset({"sprint", "sprint-qualifying"}),
    "practice": frozenset({"practice", "fp1", "fp2", "fp3"}),
}


def for_session(streams: Iterable[Stream], session_type: str) -> list[Stream]:
    """Streams relevant to `session_type` (or its group): tagged with it, or untagged."""
    wanted = SESSION_GROUPS.get(session_type.lower(), frozenset({session_type.lower()}))
    return [s for s in streams if s.session_type is None or s.session_type in wanted]
