"""Settings: `slipstream.toml` plus `SLIPSTREAM_<SECTION>__<KEY>` environment overrides.

No module-level instance: `load_settings()` builds one for each caller (CLI, app, test).
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from slipstream.errors import ConfigError

BUILTIN_DEFAULT = "<built-in default>"
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def parse_duration(value: Any) -> float:
    """Seconds from "90s", "5m", "1.5h", "250ms" or a bare number of seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration like '90s' or '5m'")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a duration like '90s', '5m' or '1h'")
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    api_key: str = ""
    secret: str = ""
    access_log: bool = False


class StoreSettings(_Section):
    kind: Literal["sqlite", "memory", "redis"] = "sqlite"
    data_dir: Path = Path("~/.local/share/slipstream")
    redis_url: str = ""

    @property
    def path(self) -> Path:
        """The data directory with `~` expanded."""
        return self.data_dir.expanduser()


class ScheduleSettings(_Section):
    extract_every: Duration = 300.0
    refresh_every: Duration = 240.0
    idle_after: Duration = 600.0


class HealthSettings(_Section):
    concurrency: int = Field(50, ge=1, le=2000)
    timeout: Duration = 10.0
    stale_check: bool = True
    max_playlist_bytes: int = Field(2_000_000, ge=1024)


class VerifySettings(_Section):
    enabled: bool = True
    browser: str = ""
    concurrency: int = Field(4, ge=1, le=64)
    timeout: Duration = 20.0


class ProxySettings(_Section):
    allow_private_upstreams: bool = False


class SourceSettings(BaseModel):
    """One `[[sources]]` table; type-specific keys are checked by the extractor registry."""

    model_config = ConfigDict(extra="allow")
    type: str
    key: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = ""
    timeout: Duration = 60.0

    @property
    def options(self) -> dict[str, Any]:
        """The type-specific keys of this source."""
        return dict(self.model_extra or {})


DEMO_SOURCE = {"type": "demo", "key": "demo", "name": "Demo channels"}


class Settings(BaseSettings):
    """Every setting of slipstream; see DESIGN.md "Configuration file"."""

    model_config = SettingsConfigDict(
        env_prefix="SLIPSTREAM_", env_nested_delimiter="__", extra="forbid"
    )
    server: ServerSettings = ServerSettings()
    store: StoreSettings = StoreSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    health: HealthSettings = HealthSettings()
    verify: VerifySettings = VerifySettings()
    proxy: ProxySettings = ProxySettings()
    sources: list[SourceSettings] = Field(default_factory=list)
    _file: str = PrivateAttr(BUILTIN_DEFAULT)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values come in as init kwargs; the environment overrides them.
        return (env_settings, init_settings)

    @property
    def file(self) -> str:
        """The config file these settings came from, or the built-in default."""
        return self._file


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), "-", "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "-", f"not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), "-", f"cannot read: {exc}") from None


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "-"


def _origin(file: str, loc: tuple[int | str, ...]) -> str:
    """Name the environment variable when the bad value came from one."""
    var = "SLIPSTREAM_" + "__".join(str(p).upper() for p in loc[:2])
    return f"environment {var}" if var in os.environ else file


def build_settings(data: dict[str, Any], file: str = BUILTIN_DEFAULT) -> Settings:
    """Validate `data` (a parsed config file) with environment overrides applied."""
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(_origin(file, err["loc"]), _loc(err["loc"]), err["msg"]) from None
    settings._file = file
    keys = [s.key for s in settings.sources]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise ConfigError(file, "sources", f"duplicate source key {dupes[0]!r}")
    if settings.store.kind == "redis":  # a name DESIGN.md reserves: refused at start, not in the lifespan
        raise ConfigError(_origin(file, ("store", "kind")), "store.kind",
                          "the redis store is not built yet; use sqlite or memory")
    return settings


def load_settings(path: str | Path | None = None) -> Settings:
    """Settings from `path`, else ./slipstream.toml, else the built-in default (demo only)."""
    if path is None and Path("slipstream.toml").is_file():
        path = Path("slipstream.toml")
    if path is None:
        return build_settings({"sources": [DEMO_SOURCE]})
    path = Path(path)
    return build_settings(_read_toml(path), str(path))


def is_loopback_host(host: str) -> bool:
    """True for localhost and loopback addresses."""
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(settings: Settings) -> None:
    """Refuse to serve beyond loopback without an API key."""
    if not is_loopback_host(settings.server.host) and not settings.server.api_key:
        raise ConfigError(
            settings.file, "server.api_key",
            f"must be set when binding to {settings.server.host} (beyond loopback): "
            "admin routes would be open to the network",
        )


def env_overrides() -> dict[str, str]:
    """The SLIPSTREAM_* variables in force, for diagnostics."""
    return {k: v for k, v in os.environ.items() if k.startswith("SLIPSTREAM_")}
