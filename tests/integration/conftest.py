"""Integration fixtures: `service(config_toml, env=None, plugins=False) -> ServiceHandle`.

`module_service` is the same factory with module scope, for a service several tests share.

The fixture and ServiceHandle live in tests/service_support.py (importable from any
test folder, unlike a conftest); this makes the fixture available here.
"""

from __future__ import annotations

from service_support import module_service_fixture, service_fixture

__all__ = ["module_service_fixture", "service_fixture"]
