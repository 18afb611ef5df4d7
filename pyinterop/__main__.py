"""`python -m pyinterop server|client ...` (see the package's docstring)."""

from __future__ import annotations

import asyncio
import sys

from pykit.cli import quiet_grpc_core
from pykit.config import fail

USAGE = "use one of: server, client (then --help)"


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(f"usage: python -m pyinterop COMMAND [flags]; {USAGE}")
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "server":
        from pyinterop import server

        return server.main(rest)
    if command == "client":
        from pyinterop import client

        options = client.parse(rest)
        quiet_grpc_core()
        return asyncio.run(client.run(options))
    fail(f"unknown command {command!r}; {USAGE}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
