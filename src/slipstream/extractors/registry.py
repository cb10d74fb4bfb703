"""Which extractor classes exist, building them from `[[sources]]`, and running them all.

Types come from the built-ins and from the entry-point group
`slipstream.extractors` (name = the `type` users write). A broken plugin is
logged and skipped; a bad `[[sources]]` table is a ConfigError naming the field.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from slipstream.config import Settings, SourceSettings
from slipstream.errors import ConfigError
from slipstream.extractors.base import Extractor, ExtractorContext
from slipstream.extractors.curated import CuratedExtractor
from slipstream.extractors.demo import DemoExtractor
from slipstream.extractors.m3u import M3UExtractor
from slipstream.extractors.page import PageExtractor
from slipstream.extractors.support import without_queries
from slipstream.models import Stream
from slipstream.tags import apply_tags

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "slipstream.extractors"


def builtin_types() -> dict[str, type[Extractor]]:
    """The extractors shipped with slipstream, by `type` name."""
    return {"m3u": M3UExtractor, "curated": CuratedExtractor, "page": PageExtractor,
            "demo": DemoExtractor}


def _load_entry_point(ep: importlib.metadata.EntryPoint) -> type[Extractor] | None:
    try:
        cls = ep.load()
    except Exception as exc:  # a plugin's import error must not stop slipstream
        log.warning("extractor plugin %r (%s) failed to load: %s: %s",
                    ep.name, ep.value, type(exc).__name__, exc)
        return None
    if not (isinstance(cls, type) and issubclass(cls, Extractor)):
        log.warning("extractor plugin %r (%s) is not an Extractor subclass", ep.name, ep.value)
        return None
    return cls


def entry_point_types() -> dict[str, type[Extractor]]:
    """Third-party extractors published under the `slipstream.extractors` entry-point group."""
    types: dict[str, type[Extractor]] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in types:
            log.warning("extractor plugin %r is published twice; keeping the first", ep.name)
        elif (cls := _load_entry_point(ep)) is not None:
            types[ep.name] = cls
    return types


def all_types() -> dict[str, type[Extractor]]:
    """Built-ins and plugins; a plugin cannot shadow a built-in name."""
    builtins = builtin_types()
    plugins = entry_point_types()
    for name in sorted(plugins.keys() & builtins.keys()):
        log.warning("extractor plugin %r ignored: the name is a built-in type", name)
    return {**plugins, **builtins}


def _error_field(prefix: str, error: Any) -> str:
    loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
    extra = (error.get("ctx") or {}).get("field")
    return prefix + loc + (f".{extra}" if isinstance(extra, str) else "")


def _options(file: str, index: int, source: SourceSettings, cls: type[Extractor]) -> BaseModel:
    try:
        return cls.Options(**source.options)
    except ValidationError as exc:
        error = exc.errors()[0]
        reason = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden" and len(error["loc"]) == 1:
            keys = ", ".join(cls.Options.model_fields) or "none"
            reason = f"unknown key for a {source.type!r} source (known keys: {keys})"
        elif error["type"] == "extra_forbidden":
            reason = "unknown key"
        raise ConfigError(file, _error_field(f"sources[{index}]", error), reason) from None


def _resolve(settings: Settings) -> list[tuple[SourceSettings, type[Extractor], BaseModel]]:
    types = all_types()
    resolved = []
    for index, source in enumerate(settings.sources):
        cls = types.get(source.type)
        if cls is None:
            known = ", ".join(sorted(types))
            raise ConfigError(settings.file, f"sources[{index}].type",
                              f"unknown extractor type {source.type!r} (known: {known})")
        resolved.append((source, cls, _options(settings.file, index, source, cls)))
    return resolved


def validate_sources(settings: Settings) -> None:
    """Check every `[[sources]]` table (type and options) without building anything."""
    _resolve(settings)


def build_extractors(settings: Settings, ctx: ExtractorContext) -> list[Extractor]:
    """One extractor instance per `[[sources]]` table, in the file's order."""
    return [
        cls(ctx, options, key=source.key, name=source.name or None, timeout=source.timeout)
        for source, cls, options in _resolve(settings)
    ]


@dataclass
class ExtractorOutcome:
    """What one extractor produced in a run: its streams, or the error that cost them."""

    extractor: Extractor
    streams: list[Stream]
    error: str | None
    duration_s: float


def _checked(extractor: Extractor, result: object) -> list[Stream]:
    if not isinstance(result, list):
        raise TypeError(f"extract() returned {type(result).__name__}, not a list")
    streams = [s for s in result if isinstance(s, Stream)]
    if len(streams) < len(result):
        log.warning("%s: dropped %d results that are not Streams",
                    extractor.key, len(result) - len(streams))
    return [apply_tags(s) for s in streams]


async def _run_one(extractor: Extractor) -> ExtractorOutcome:
    start = time.monotonic()
    streams: list[Stream] = []
    error = None
    deadline = asyncio.timeout(extractor.timeout)
    try:
        async with deadline:
            result = await extractor.extract()
            # Tagging many thousands of streams takes seconds: off the event loop.
            streams = await asyncio.to_thread(_checked, extractor, result)
    except TimeoutError as exc:
        error = (f"timeout after {extractor.timeout:g}s" if deadline.expired()
                 else f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # isolation: one extractor's bug never reaches the others
        error = without_queries(f"{type(exc).__name__}: {exc}")  # logged, and shown on /extractors
    duration = time.monotonic() - start
    if error is None:
        log.info("extractor %s: %d streams in %.1fs", extractor.key, len(streams), duration)
    else:
        log.warning("extractor %s: failed after %.1fs: %s", extractor.key, duration, error)
    return ExtractorOutcome(extractor, streams, error, duration)


async def extract_all(extractors: Sequence[Extractor]) -> list[ExtractorOutcome]:
    """Run every extractor concurrently, each under its own timeout; never raises."""
    return list(await asyncio.gather(*(_run_one(e) for e in extractors)))
