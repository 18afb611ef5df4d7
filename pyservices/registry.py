"""Every service the runner knows, in start order (LoggerService before AuthService)."""

from __future__ import annotations

from pyservices.spec import ServiceSpec

SPECS: dict[str, ServiceSpec] = {}
