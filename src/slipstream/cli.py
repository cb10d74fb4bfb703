"""The `slipstream` command: serve, extract, check, demo."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler

from slipstream.cli_output import check_rows, print_check_table, print_streams_table, run_progress
from slipstream.config import (
    DEMO_SOURCE,
    Settings,
    build_settings,
    check_bind,
    load_settings,
)
from slipstream.errors import ConfigError
from slipstream.models import HealthResult, Verdict

app = typer.Typer(help="slipstream: find live motorsport streams, prove they play, keep them playing.",
                  no_args_is_help=True, add_completion=False)
err = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="Path to slipstream.toml.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


class _NoQuery(logging.Filter):
    """Cut query strings from access-log lines: they carry CDN tokens, and keys sent by mistake."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def _logging(level: int = logging.INFO, *, plain: bool = False) -> None:
    """Rich log lines for the one-shot commands; plain, unwrapped lines for `serve`.

    A server's log is read by machines and `grep` as often as by people, and Rich
    costs about a tenth of a millisecond per line: on the access log that alone
    held `GET /streams` to ~1,500 requests/s.
    """
    handler: logging.Handler
    if plain:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    else:
        handler = RichHandler(console=err, show_path=False)
    logging.basicConfig(level=level, handlers=[handler])
    logging.getLogger("uvicorn.access").addFilter(_NoQuery())


def _settings(load: Callable[[], Settings]) -> Settings:
    from slipstream.extractors.registry import validate_sources

    try:
        settings = load()
        validate_sources(settings)  # type-specific [[sources]] keys, checked before anything starts
        return settings
    except ConfigError as exc:
        err.print(f"[red]config error[/red] in {exc.file}: {exc.field}: {exc.reason}")
        raise typer.Exit(2) from None


def _run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except ConfigError as exc:
        err.print(f"[red]config error[/red] in {exc.file}: {exc.field}: {exc.reason}")
        raise typer.Exit(2) from None


def _serve(settings: Settings, host: str | None, port: int | None) -> None:
    import uvicorn

    from slipstream.api.app import create_app

    server = settings.server.model_copy(
        update={k: v for k, v in (("host", host), ("port", port)) if v is not None})
    settings = settings.model_copy(update={"server": server})
    try:
        check_bind(settings)
    except ConfigError as exc:
        err.print(f"[red]refusing to start[/red]: {exc.field}: {exc.reason}")
        raise typer.Exit(2) from None
    _logging(plain=True)
    from slipstream.api.routes.proxy import QuietSegments

    logging.getLogger("uvicorn.access").addFilter(QuietSegments())
    uvicorn.run(create_app(settings), host=server.host, port=server.port, log_config=None,
                proxy_headers=False, access_log=server.access_log)


@app.command()
def serve(
    config: ConfigOpt = None,
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
) -> None:
    """Serve the API and web UI; the first extraction starts in the background at once."""
    _serve(_settings(lambda: load_settings(config)), host, port)


@app.command()
def demo(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
) -> None:
    """Serve with the built-in synthetic origin as the only source (no internet needed)."""
    _serve(_settings(lambda: build_settings({"sources": [DEMO_SOURCE]})), host, port)


@app.command()
def extract(config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """One full run (extract, check, verify) with a progress bar, then a table."""
    settings = _settings(lambda: load_settings(config))
    _logging(logging.WARNING)
    streams = _run(_extract(settings, show_progress=not json_out))
    if json_out:
        from slipstream.view import public_dict
        typer.echo(json.dumps([public_dict(s) for s in streams], indent=2))
    else:
        print_streams_table(streams)


async def _extract(settings: Settings, show_progress: bool) -> list[Any]:
    from slipstream.runtime import open_runtime
    from slipstream.store import MemoryStore

    async with open_runtime(settings, store=MemoryStore()) as runtime:
        with run_progress(enabled=show_progress) as progress:
            await runtime.service.run(progress)
        run = runtime.service.last_run
        for key, error in (run.errors if run else {}).items():
            err.print(f"[yellow]extractor {key} failed:[/yellow] {error}")
        return runtime.service.view.all


def _parse_headers(values: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for value in values:
        name, sep, content = value.partition(":")
        if not sep or not name.strip():
            raise typer.BadParameter(f"{value!r} is not 'Name: value'", param_hint="--header")
        headers[name.strip()] = content.strip()
    return headers


@app.command()
def check(
    urls: Annotated[list[str], typer.Argument(help="HLS URLs to check.")],
    verify: Annotated[bool, typer.Option("--verify", help="Also play each URL in Chromium.")] = False,
    header: Annotated[list[str] | None, typer.Option("--header", "-H",
                                                     help="'Name: value', repeatable.")] = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Health-check URLs (and with --verify, play them); exit 0 only if all are live."""
    headers = _parse_headers(header or [])
    settings = _settings(lambda: load_settings(config))
    _logging(logging.WARNING)
    results, verdicts = _run(_check(settings, urls, headers, verify))
    rows = check_rows(results, verdicts if verify else None)
    if json_out:
        typer.echo(json.dumps(rows, indent=2))
    else:
        print_check_table(rows)
    ok = all(r["is_live"] and (not verify or r["is_playable"]) for r in rows)
    raise typer.Exit(0 if ok else 1)


async def _check(settings: Settings, urls: list[str], headers: dict[str, str], verify: bool,
                 ) -> tuple[list[HealthResult], dict[str, Verdict]]:
    from slipstream.hls.health import HealthChecker
    from slipstream.http import AddressGuard, build_client
    from slipstream.runtime import make_verifier

    guard = AddressGuard(allow_private=settings.proxy.allow_private_upstreams)
    async with build_client(guard, timeout=settings.health.timeout) as http:
        results = await HealthChecker(http, settings.health).check_many([(u, headers) for u in urls])
    verdicts: dict[str, Verdict] = {}
    if verify:
        verifier = make_verifier(settings)
        if verifier is None or not verifier.available:
            reason = verifier.unavailable_reason if verifier else "verifier not installed"
            verdicts = {u: Verdict(u, False, None, f"verifier unavailable: {reason}") for u in urls}
        else:
            try:
                verdicts = await verifier.verify_many([(u, headers, "hls") for u in urls])
            finally:
                await verifier.close()  # type: ignore[attr-defined]
            # What the browser could not check (it died, or turned out unable to decode H.264)
            # gets the reason, not a bare "not verified".
            why = (f"verifier unavailable: {verifier.unavailable_reason}" if not verifier.available
                   else "not verified: browser failed")
            verdicts = {u: verdicts.get(u) or Verdict(u, False, None, why) for u in urls}
    return results, verdicts


def main() -> None:
    """Entry point for `python -m slipstream`."""
    app()
