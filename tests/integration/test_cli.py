"""The `slipstream` command as a user runs it: check, extract, and refusals at start."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from origin import REFERER, USER_AGENT, TestOrigin
from runner import Service, free_port, http_get, run_cli

ALLOW = {"SLIPSTREAM_PROXY__ALLOW_PRIVATE_UPSTREAMS": "true", "SLIPSTREAM_HEALTH__TIMEOUT": "2s"}
FIELDS = {"url", "is_live", "reason", "response_time_ms", "bitrate"}


def check(tmp_path: Path, *args: str, **env: str) -> tuple[int, list[dict[str, object]], str]:
    result = run_cli(["check", "--json", *args], tmp_path, **{**ALLOW, **env})
    rows = json.loads(result.stdout) if result.stdout.strip() else []
    return result.returncode, rows, result.stderr


def test_check_a_live_stream(origin: TestOrigin, tmp_path: Path) -> None:
    code, rows, _ = check(tmp_path, origin.url("/live/master.m3u8"))
    assert code == 0
    [row] = rows
    assert set(row) == FIELDS
    assert row["is_live"] is True and row["reason"] == "ok"
    assert isinstance(row["bitrate"], int) and row["bitrate"] > 100_000
    assert isinstance(row["response_time_ms"], float)


Where = Callable[[TestOrigin], str]


def at(path: str) -> Where:
    return lambda origin: origin.url(path)


def token(ttl: int) -> Where:
    return lambda origin: origin.token_url("/live/ts360/index.m3u8", ttl=ttl)


@pytest.mark.parametrize(("where", "reason", "code"), [
    pytest.param(at("/vod/ts360/index.m3u8"), "vod", 1, id="vod"),
    pytest.param(at("/~stale/live/ts360/index.m3u8"), "stale", 1, id="stale"),
    pytest.param(at("/~seg404/live/ts360/index.m3u8"), "segment http 404", 1, id="seg404"),
    pytest.param(at("/~garbage/live/ts360/index.m3u8"), "segment not media", 1, id="garbage"),
    pytest.param(at("/~html/live/ts360/index.m3u8"), "not a playlist", 1, id="html"),
    pytest.param(at("/~delay=4000/live/ts360/index.m3u8"), "timeout", 1, id="delay"),
    pytest.param(at("/huge/50.m3u8"), "playlist too large", 1, id="huge"),
    pytest.param(at("/~loop/live/ts360/index.m3u8"), "too many redirects", 1, id="loop"),
    pytest.param(at("/~referer/live/ts360/index.m3u8"), "http 403", 1, id="referer"),
    pytest.param(at("/~ua/live/ts360/index.m3u8"), "http 403", 1, id="user-agent"),
    pytest.param(token(-1), "http 403", 1, id="expired-token"),
    pytest.param(token(30), "ok", 0, id="valid-token"),  # the same path, so the 403 above is the expiry
    pytest.param(at("/~status=500/live/ts360/index.m3u8"), "http 500", 1, id="status500"),
])
def test_check_reports_each_fault(origin: TestOrigin, tmp_path: Path, where: Where, reason: str,
                                  code: int) -> None:
    exit_code, rows, _ = check(tmp_path, where(origin))
    assert exit_code == code
    assert rows[0]["is_live"] is (code == 0) and rows[0]["reason"] == reason


def test_check_many_urls_one_verdict_each(origin: TestOrigin, tmp_path: Path) -> None:
    urls = [origin.url("/live/ts360/index.m3u8"), origin.url("/vod/ts360/index.m3u8"),
            f"http://127.0.0.1:{free_port()}/closed.m3u8"]
    code, rows, _ = check(tmp_path, *urls)
    assert code == 1
    assert [r["url"] for r in rows] == urls
    assert [r["reason"] for r in rows] == ["ok", "vod", "connection failed: refused"]


@pytest.mark.parametrize(("fault", "header"), [("referer", f"Referer: {REFERER}"),
                                              ("ua", f"User-Agent: {USER_AGENT}")])
def test_check_sends_given_headers(origin: TestOrigin, tmp_path: Path, fault: str, header: str) -> None:
    url = origin.url(f"/~{fault}/live/ts360/index.m3u8")
    code, rows, _ = check(tmp_path, url, "--header", header)
    assert code == 0 and rows[0]["reason"] == "ok"


def test_check_refuses_private_addresses_unless_allowed(origin: TestOrigin, tmp_path: Path) -> None:
    result = run_cli(["check", "--json", origin.url("/live/ts360/index.m3u8")], tmp_path)
    assert result.returncode == 1
    assert json.loads(result.stdout)[0]["reason"] == "private address refused"


@pytest.mark.parametrize("args", [["check"], ["check", "--header", "no-colon", "http://x.invalid/a.m3u8"],
                                  ["check", "--bogus", "http://x.invalid/a.m3u8"]])
def test_check_bad_usage_exits_2(tmp_path: Path, args: list[str]) -> None:
    result = run_cli(args, tmp_path)
    assert result.returncode == 2, result.stderr


def test_check_table_output(origin: TestOrigin, tmp_path: Path) -> None:
    result = run_cli(["check", origin.url("/vod/ts360/index.m3u8")], tmp_path, **ALLOW)
    assert result.returncode == 1
    assert "vod" in result.stdout and "reason" in result.stdout


def write_config(tmp_path: Path, origin: TestOrigin) -> Path:
    m3u = origin.serve_text("/lists/cli.m3u", "#EXTM3U\n"
                            f"#EXTINF:-1,F1 Sprint feed\n{origin.url('/live/ts360/index.m3u8')}\n"
                            f"#EXTINF:-1,Old replay\n{origin.url('/vod/ts234/index.m3u8')}\n")
    path = tmp_path / "slipstream.toml"
    path.write_text(f"""
[verify]
enabled = false
[proxy]
allow_private_upstreams = true
[[sources]]
type = "m3u"
key = "cli"
name = "CLI list"
url = "{m3u}"
[[sources]]
type = "raiser"
key = "bad"
""")
    return path


def test_extract_json_prints_every_stream(origin: TestOrigin, tmp_path: Path) -> None:
    result = run_cli(["extract", "--json", "--config", str(write_config(tmp_path, origin))], tmp_path)
    assert result.returncode == 0, result.stderr
    streams = json.loads(result.stdout)
    assert [(s["title"], s["is_live"], s["reason"]) for s in streams] == [
        ("F1 Sprint feed", True, "ok"), ("Old replay", False, "vod")]
    assert streams[0]["series"] == "f1" and streams[0]["session_type"] == "sprint"


def test_extract_prints_a_table_and_the_failed_extractor(origin: TestOrigin, tmp_path: Path) -> None:
    result = run_cli(["extract", "--config", str(write_config(tmp_path, origin))], tmp_path, COLUMNS="200")
    assert result.returncode == 0, result.stderr
    assert "F1 Sprint feed" in result.stdout and "1 live of 2 streams" in result.stdout
    assert "extractor bad failed" in result.stderr


@pytest.mark.parametrize(("text", "expected"), [
    ("[server]\nport = 'eighty'\n", "server.port"),
    ("[[sources]]\ntype = 'm3u'\nkey = 'x'\n", "sources[0]"),
    ("[[sources]]\ntype = 'nonesuch'\nkey = 'x'\n", "sources[0].type"),
    ("[schedule]\nextract_every = 'often'\n", "schedule.extract_every"),
])
def test_serve_refuses_a_bad_config_naming_file_and_field(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    result = run_cli(["serve", "--config", str(path), "--port", str(free_port())], tmp_path, timeout=30)
    assert result.returncode == 2
    assert str(path) in result.stderr and expected in result.stderr


def test_serve_beyond_loopback_needs_an_api_key(tmp_path: Path) -> None:
    result = run_cli(["serve", "--host", "0.0.0.0", "--port", str(free_port())], tmp_path, timeout=30)
    assert result.returncode == 2
    assert "api_key" in result.stderr and "beyond loopback" in result.stderr


KEY = "s3cret-key"
WRONG = "s3cret-kez"
ADMIN_ROUTES = [pytest.param("GET", "/streams/all", 200, id="streams-all"),
                pytest.param("GET", "/active", 200, id="active"),
                pytest.param("POST", "/extract", 202, id="extract")]
REFUSED = [
    pytest.param({}, "", id="no-key"),
    pytest.param({"Authorization": f"Bearer {WRONG}"}, "", id="wrong-bearer"),
    pytest.param({"X-API-Key": WRONG}, "", id="wrong-x-api-key"),
    pytest.param({}, f"?api_key={KEY}", id="key-in-query-api_key"),
    pytest.param({}, f"?key={KEY}", id="key-in-query-key"),
]
ACCEPTED = [pytest.param({"Authorization": f"Bearer {KEY}"}, id="bearer"),
            pytest.param({"X-API-Key": KEY}, id="x-api-key")]


@pytest.fixture(scope="module")
def exposed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A service bound to every interface (0.0.0.0) with an API key; tests reach it on 127.0.0.1."""
    tmp = tmp_path_factory.mktemp("exposed")
    path = tmp / "slipstream.toml"
    path.write_text(f'[server]\nhost = "0.0.0.0"\napi_key = "{KEY}"\naccess_log = true\n'
                    '[verify]\nenabled = false\n[schedule]\nextract_every = "1h"\n')
    svc = Service(path, tmp / "data").start()
    yield svc
    svc.stop()


def admin_call(svc: Service, method: str, path: str, headers: dict[str, str],
               ) -> tuple[int, dict[str, str], Any]:
    status, head, body = http_get(svc.url(path), headers=headers, method=method)
    return status, head, json.loads(body)


@pytest.mark.parametrize(("method", "path", "ok"), ADMIN_ROUTES)
@pytest.mark.parametrize(("headers", "query"), REFUSED)
def test_admin_routes_refuse_a_missing_wrong_or_query_key_beyond_loopback(
    exposed: Service, method: str, path: str, ok: int, headers: dict[str, str], query: str
) -> None:
    status, head, body = admin_call(exposed, method, path + query, headers)
    assert status == 401, body
    assert head["www-authenticate"] == "Bearer"
    assert KEY not in json.dumps(body)


@pytest.mark.parametrize(("method", "path", "ok"), ADMIN_ROUTES)
@pytest.mark.parametrize("headers", ACCEPTED)
def test_admin_routes_accept_the_key_in_a_header_beyond_loopback(
    exposed: Service, method: str, path: str, ok: int, headers: dict[str, str]
) -> None:
    status, _, body = admin_call(exposed, method, path, headers)
    assert status == ok, body
    if path == "/extract":
        assert body["status"] in ("started", "already running")
    else:
        assert isinstance(body, list)


@pytest.mark.parametrize("path", ["/streams", "/healthz", "/extractors"])
def test_public_routes_need_no_key_beyond_loopback(exposed: Service, path: str) -> None:
    assert exposed.get(path)[0] == 200


def test_admin_refusals_are_logged_without_the_key(exposed: Service) -> None:
    assert exposed.get(f"/streams/all?api_key={KEY}")[0] == 401
    assert exposed.get("/streams/all", {"X-API-Key": KEY})[0] == 200
    log = exposed.log_path.read_text(errors="replace")  # the whole log, every test's requests
    assert '"GET /streams/all HTTP/1.1" 401' in log  # the access line is written, its query cut
    assert '"GET /streams/all HTTP/1.1" 200' in log
    assert KEY not in log
    assert f"Uvicorn running on http://0.0.0.0:{exposed.port}" in log  # bound beyond loopback indeed
