"""Every service the runner knows, in start order (LoggerService before AuthService)."""

from __future__ import annotations

from pyservices.auth.server import SPEC as AUTH_SPEC
from pyservices.files.server import SPEC as FILE_SPEC
from pyservices.logger.server import SPEC as LOGGER_SPEC
from pyservices.rand.server import SPEC as RANDOM_SPEC
from pyservices.spec import ServiceSpec
from pyservices.streaming.server import SPEC as STREAMING_SPEC
from pyservices.users.server import SPEC as USER_SPEC

SPECS: dict[str, ServiceSpec] = {
    "file": FILE_SPEC,
    "random": RANDOM_SPEC,
    "logger": LOGGER_SPEC,
    "auth": AUTH_SPEC,
    "streaming": STREAMING_SPEC,
    "user": USER_SPEC,
}
