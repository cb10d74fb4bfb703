"""What the read routes serve: the ranked list and every stream, with JSON bodies built once per update."""

from __future__ import annotations

import gc
import gzip
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from slipstream.models import Stream
from slipstream.ranking import rank

# Fields a client sees; `headers` are for upstream requests only.
PRIVATE_FIELDS = ("headers", "trusted")


@dataclass(frozen=True)
class Body:
    """A JSON body built once per update, with its gzip form and a validator for revalidation."""

    data: bytes
    gzip: bytes
    etag: str

    @classmethod
    def of(cls, data: bytes) -> Body:
        digest = hashlib.blake2b(data, digest_size=12).hexdigest()
        # Weak: the identity and gzip forms of one list share it (RFC 9110 §8.8.1).
        return cls(data, gzip.compress(data, 6, mtime=0), f'W/"{digest}"')


@dataclass
class View:
    """Everything the read routes serve, rebuilt once per update."""

    ranked: list[Stream] = field(default_factory=list)      # live only, best first
    all: list[Stream] = field(default_factory=list)         # every cached stream, best first
    ranked_json: bytes = b"[]"
    all_json: bytes = b"[]"
    by_id: dict[str, Stream] = field(default_factory=dict)
    ranked_body: Body = field(default_factory=lambda: Body.of(b"[]"))  # /streams, the hot path


def public_dict(stream: Stream) -> dict[str, Any]:
    """The API's JSON form of a stream."""
    data = stream.to_dict()
    for name in PRIVATE_FIELDS:
        data.pop(name, None)
    return data


def settle_heap() -> None:
    """Keep what the view holds (and the app) out of the collector's full passes (gc.freeze).

    A full collection walks every tracked object: with the app and 2,000 cached streams it
    paused the event loop ~35 ms every few thousand requests, the /streams p99. Unfrozen
    first, so the view just replaced can still be collected (bench/README.md, "Load").
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def streams_json(streams: list[Stream]) -> bytes:
    return json.dumps([public_dict(s) for s in streams], separators=(",", ":")).encode()


def build_view(streams: Iterable[Stream]) -> View:
    """Rank `streams` and build every body the read routes serve, then settle the heap."""
    everything = rank(streams)
    live = [s for s in everything if s.is_live]
    ranked_json = streams_json(live)
    view = View(live, everything, ranked_json, streams_json(everything),
                {s.id: s for s in everything}, Body.of(ranked_json))
    settle_heap()
    return view
