"""Config loading: defaults, durations, env overrides, and bad files refused with file, field, reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from slipstream.config import (
    BUILTIN_DEFAULT,
    check_bind,
    load_settings,
    parse_duration,
)
from slipstream.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "slipstream.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("5m", 300), ("1.5h", 5400), ("250ms", 0.25), ("12", 12), (30, 30)],
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


def test_no_file_gives_the_demo_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.file == BUILTIN_DEFAULT
    assert [(s.type, s.key) for s in settings.sources] == [("demo", "demo")]
    assert settings.server.host == "127.0.0.1" and settings.server.port == 8000


def test_a_full_file_loads(tmp_path: Path) -> None:
    path = write(tmp_path, """
[server]
port = 9000
[schedule]
extract_every = "90s"
[health]
concurrency = 10
timeout = "3s"
[[sources]]
type = "m3u"
key = "sports"
name = "Sports"
url = "https://example.org/a.m3u"
groups = ["Sports"]
headers = { Referer = "https://example.org/" }
""")
    settings = load_settings(path)
    assert settings.server.port == 9000
    assert settings.schedule.extract_every == 90
    assert settings.health.timeout == 3
    source = settings.sources[0]
    assert source.options == {"url": "https://example.org/a.m3u", "groups": ["Sports"],
                              "headers": {"Referer": "https://example.org/"}}


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLIPSTREAM_SERVER__PORT", "8080")
    monkeypatch.setenv("SLIPSTREAM_STORE__DATA_DIR", str(tmp_path / "data"))
    settings = load_settings(write(tmp_path, "[server]\nport = 9000\n"))
    assert settings.server.port == 8080
    assert settings.store.path == tmp_path / "data"


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        ("[server]\nprot = 1\n", "server.prot", "Extra inputs are not permitted"),
        ("[bogus]\nx = 1\n", "bogus", "Extra inputs are not permitted"),
        ('[schedule]\nextract_every = "5 minutes"\n', "schedule.extract_every", "not a duration"),
        ("[server]\nport = 70000\n", "server.port", "less than or equal to 65535"),
        ('[store]\nkind = "postgres"\n', "store.kind", "'sqlite', 'memory' or 'redis'"),
        ('[store]\nkind = "redis"\n', "store.kind", "the redis store is not built yet"),
        ("[health]\nconcurrency = 0\n", "health.concurrency", "greater than or equal to 1"),
        ('[[sources]]\ntype = "m3u"\n', "sources[0].key", "Field required"),
        ('[[sources]]\ntype = "m3u"\nkey = "a b"\n', "sources[0].key", "should match pattern"),
        ('[[sources]]\ntype="curated"\nkey="a"\n[[sources]]\ntype="m3u"\nkey="a"\n', "sources",
         "duplicate source key 'a'"),
        ("[server\nport = 1\n", "-", "not valid TOML"),
    ],
)
def test_bad_files_name_file_field_and_reason(tmp_path: Path, text: str, field: str, reason: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert info.value.file == str(path)
    assert info.value.field == field
    assert reason in info.value.reason


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "nope.toml")


def test_bad_environment_value_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLIPSTREAM_SERVER__PORT", "eighty")
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, ""))
    assert info.value.file == "environment SLIPSTREAM_SERVER__PORT"
    assert info.value.field == "server.port"


@pytest.mark.parametrize(("host", "key", "ok"), [
    ("127.0.0.1", "", True), ("localhost", "", True), ("::1", "", True),
    ("0.0.0.0", "", False), ("192.0.2.10", "", False), ("0.0.0.0", "s3cret", True),
])
def test_binding_beyond_loopback_needs_a_key(tmp_path: Path, host: str, key: str, ok: bool) -> None:
    settings = load_settings(write(tmp_path, f'[server]\nhost = "{host}"\napi_key = "{key}"\n'))
    if ok:
        check_bind(settings)
    else:
        with pytest.raises(ConfigError, match="beyond loopback"):
            check_bind(settings)
