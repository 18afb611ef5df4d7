"""`python -m pyservices [NAME ...]`: start all services, or the named ones."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from pyservices.registry import SPECS
from pyservices.runner import serve
from pyservices.spec import Settings

DEFAULT_MAX_MESSAGE_BYTES = 8 * 1024 * 1024


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pyservices",
        description="Start Polychat's Python gRPC services, each on its own port.",
    )
    parser.add_argument(
        "services",
        nargs="*",
        metavar="NAME",
        help=f"services to start (default: all): {', '.join(SPECS)}",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("POLYCHAT_DATA_DIR", "data")),
        help="folder for uploaded files and databases (env POLYCHAT_DATA_DIR, default: data)",
    )
    parser.add_argument(
        "--max-message-bytes",
        type=int,
        default=int(os.environ.get("POLYCHAT_MAX_MESSAGE_BYTES", DEFAULT_MAX_MESSAGE_BYTES)),
        help="largest gRPC message accepted or sent (env POLYCHAT_MAX_MESSAGE_BYTES, "
        f"default: {DEFAULT_MAX_MESSAGE_BYTES})",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=5.0,
        help="seconds in-flight RPCs get to finish on shutdown (default: 5)",
    )
    for spec in SPECS.values():
        parser.add_argument(
            f"--{spec.name}-addr",
            default=os.environ.get(spec.env_var, spec.default_address),
            help=f"listen address of the {spec.name} service "
            f"(env {spec.env_var}, default: {spec.default_address})",
        )
        if spec.add_arguments is not None:
            spec.add_arguments(parser)
    args = parser.parse_args(argv)
    unknown = [name for name in args.services if name not in SPECS]
    if unknown:
        parser.error(f"unknown service {', '.join(unknown)}; choose from {', '.join(SPECS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
    )
    addresses = {name: getattr(args, f"{name}_addr") for name in SPECS}
    settings = Settings(
        data_dir=args.data_dir,
        addresses=addresses,
        max_message_bytes=args.max_message_bytes,
        options=vars(args),
    )
    names = args.services or list(SPECS)
    specs = [(SPECS[name], addresses[name]) for name in names]
    try:
        asyncio.run(serve(specs, settings, grace=args.grace))
    except OSError as err:
        print(f"pyservices: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
