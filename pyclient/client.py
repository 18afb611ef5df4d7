"""Polychat chat client: `python pyclient/client.py [username] [room] [server]`.

Also `python -m pyclient.client`. `-h` lists the options.
"""

from __future__ import annotations

import os
import sys

if not __package__:
    # Run as a script, sys.path[0] is pyclient/ itself: use the repository root instead, so
    # `pyclient` imports as a package and nothing in pyclient/ shadows another module.
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
    sys.path.insert(0, os.path.dirname(_here))

# gRPC's C core logs to stderr; a user sees our one-line errors instead (override to debug).
os.environ.setdefault("GRPC_VERBOSITY", "NONE")

try:
    import asyncio
    import signal
    from collections.abc import Awaitable
    from typing import TypeVar

    from pyclient.args import normalize_target, parse_args
    from pyclient.conversation import UI, converse
    from pyclient.plain import PlainUI
    from pyclient.render import sanitize
    from pyclient.session import ChatError, ChatSession, check_identity
except KeyboardInterrupt:  # Ctrl+C while starting up
    sys.exit(130)
except ModuleNotFoundError as missing:  # run outside the virtualenv
    sys.exit(
        f"error: cannot import {missing.name!r}: run `make setup`, then "
        "`source .venv/bin/activate` (or use .venv/bin/python)"
    )

T = TypeVar("T")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


def _on_terminal() -> bool:
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


async def _until_stopped(coro: Awaitable[T], stop: asyncio.Event) -> T:
    """Await `coro`, cancelling it and raising KeyboardInterrupt if `stop` is set first."""
    task = asyncio.ensure_future(coro)
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise KeyboardInterrupt
    return task.result()


async def main(argv: list[str] | None = None) -> int:
    """Run the client; returns the exit status. Errors are one line on stderr."""
    opts = parse_args(argv)
    interactive = _on_terminal()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread, or not a Unix loop: Ctrl+C then ends asyncio.run

    name = opts.name
    if name is None and interactive:
        from pyclient.terminal import ask_name

        try:
            name = await ask_name()
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
        if name is None:  # Ctrl+D: the user did not want to join after all
            return EXIT_OK

    try:
        check_identity(name, opts.room)
        try:
            target = normalize_target(opts.server)
        except ValueError as err:
            raise ChatError(
                f"error: cannot reach chat server at {sanitize(opts.server)}: bad address: {err}"
            ) from None
        session = ChatSession(
            target, name or None, opts.room, display_address=sanitize(opts.server)
        )
        try:
            try:
                await _until_stopped(session.open(), stop)
            except KeyboardInterrupt:
                return EXIT_INTERRUPTED
            ui: UI
            if interactive:
                from pyclient.terminal import TerminalUI

                ui = TerminalUI()
                with ui.active():
                    print("Connected. Type a message and press Enter; /quit to leave.")
                    await converse(session, ui, stop)
            else:
                plain = PlainUI()
                ui = plain
                with plain.active():
                    await converse(session, ui, stop)
        finally:
            await session.close()
    except ChatError as err:
        print(err, file=sys.stderr, flush=True)
        return EXIT_ERROR
    return EXIT_OK


def run(argv: list[str] | None = None) -> int:
    try:
        return asyncio.run(main(argv))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(run())
