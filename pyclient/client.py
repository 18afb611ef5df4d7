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
    import contextlib
    import signal
    from collections.abc import Awaitable, Iterator
    from typing import TypeVar

    from pyclient.args import (
        DEFAULT_AUTH_PORT,
        DEFAULT_STREAMING_PORT,
        Options,
        normalize_target,
        parse_args,
    )
    from pyclient.backoff import Backoff, BackoffPolicy
    from pyclient.conversation import RECONNECT_TIMEOUT, Connect, converse
    from pyclient.files import FileTransfers
    from pyclient.plain import PlainUI
    from pyclient.render import status
    from pyclient.session import KEEPALIVE, ChatError, ChatSession, check_identity, check_token
    from pyclient.signin import ask_password, read_password_line, sign_in, sign_out
    from pykit.channels import ClientTLS, TLSConfigError
    from pykit.cli import quiet_grpc_core
    from pykit.text import sanitize
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
EXIT_CONFIG = 2
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


@contextlib.contextmanager
def _python_sigint(stop: asyncio.Event) -> Iterator[None]:
    """Let Ctrl+C raise KeyboardInterrupt (for a blocking prompt), then hand it back to `stop`."""
    loop = asyncio.get_running_loop()
    removed = False
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        removed = loop.remove_signal_handler(signal.SIGINT)
    try:
        yield
    finally:
        if removed:
            loop.add_signal_handler(signal.SIGINT, stop.set)


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


async def _password(name: str, stop: asyncio.Event) -> str | None:
    """The password: asked for (no echo) when stdin is a terminal, else its first line.

    None when the user ends input (Ctrl+D) at the prompt.
    """
    if _stdin_is_terminal():
        with _python_sigint(stop):
            try:
                return ask_password(f"Password for {sanitize(name)}: ")
            except EOFError:
                print(file=sys.stderr)
                return None
            except KeyboardInterrupt:
                print(file=sys.stderr)
                raise
    password = await _until_stopped(read_password_line(), stop)
    if password is None:
        raise ChatError("error: sign-in failed: no password: stdin ended before its first line")
    return password


def _auth_target(opts: Options) -> str:
    """The AuthService's gRPC target, or ChatError for an address that cannot be one."""
    try:
        return normalize_target(opts.auth_server, DEFAULT_AUTH_PORT)
    except ValueError as err:
        raise ChatError(
            f"error: cannot reach auth server at {sanitize(opts.auth_server)}: bad address: {err}"
        ) from None


async def _token(
    opts: Options, name: str | None, tls: ClientTLS, stop: asyncio.Event
) -> tuple[str | None, str | None]:
    """(token, name) for the chat stream: from --token, from --login, or (None, name)."""
    if opts.token is not None:
        return check_token(opts.token), name
    if not opts.login:
        return None, name
    if not name:
        raise ChatError(
            "error: --login needs your username: give it as the first argument or with --name"
        )
    auth_target = _auth_target(opts)
    password = await _password(name, stop)
    if password is None:
        return None, None
    login = await _until_stopped(
        sign_in(auth_target, name, password, tls, sanitize(opts.auth_server)), stop
    )
    del password
    return login.session_id, login.username or name


async def main(argv: list[str] | None = None) -> int:
    """Run the client; returns the exit status. Errors are one line on stderr."""
    opts = parse_args(argv)
    try:
        tls = ClientTLS.load(opts.ca, opts.cert, opts.key, system_roots=opts.tls)
    except TLSConfigError as err:
        print(f"error: {err}", file=sys.stderr, flush=True)
        return EXIT_CONFIG
    interactive = _on_terminal()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread, or not a Unix loop: Ctrl+C then ends asyncio.run

    name = opts.name
    if name is None and interactive and opts.token is None:
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
        try:
            token, name = await _token(opts, name, tls, stop)
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
        if opts.login and token is None:  # Ctrl+D at the password prompt
            return EXIT_OK
        if token is not None and interactive and opts.login:
            print(f"Signed in as {sanitize(name or '')}.")
        try:
            return await _chat(opts, target, name, tls, token, interactive, stop)
        finally:
            if opts.login and token is not None:  # a session we opened: end it, as Go does
                await sign_out(_auth_target(opts), token, tls)
    except ChatError as err:
        print(err, file=sys.stderr, flush=True)
        return EXIT_ERROR


async def _chat(
    opts: Options,
    target: str,
    name: str | None,
    tls: ClientTLS,
    token: str | None,
    interactive: bool,
    stop: asyncio.Event,
) -> int:
    """Join the room and converse until the user leaves or the chat ends; the exit status."""

    def make_session(
        resume_token: str | None = None,
        resume_from: str | None = None,
        connect_timeout: float = 5.0,
        room: str = opts.room,
    ) -> ChatSession:
        return ChatSession(
            target,
            name or None,
            room,
            connect_timeout=connect_timeout,
            display_address=sanitize(opts.server),
            tls=tls,
            token=token,
            resume_token=resume_token,
            resume_from=resume_from,
            channel_options=KEEPALIVE if opts.reconnect else (),
        )

    connect: Connect | None = None
    if opts.reconnect:

        def connect(resume_token: str | None, resume_from: str | None) -> ChatSession:
            return make_session(resume_token, resume_from, RECONNECT_TIMEOUT)

    def open_room(room: str) -> ChatSession:
        return make_session(room=room)

    backoff = Backoff(BackoffPolicy(max_delay=opts.reconnect_max_delay))
    try:
        streaming = normalize_target(opts.streaming_server, DEFAULT_STREAMING_PORT)
    except ValueError as err:
        raise ChatError(
            f"error: cannot reach the streaming service at {sanitize(opts.streaming_server)}: "
            f"bad address: {err}"
        ) from None
    # The first connection is not retried: a wrong address or a server that is not running
    # is one line and exit 1, as before.
    session = make_session()
    files: FileTransfers | None = None
    try:
        try:
            await _until_stopped(session.open(), stop)
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
        if interactive:
            from pyclient.terminal import TerminalUI

            ui: TerminalUI | PlainUI = TerminalUI()
        else:
            ui = PlainUI()
        files = FileTransfers(streaming, tls, lambda line: ui.show(status(line)))
        with ui.active():
            if interactive:
                print(
                    "Connected. Type a message and press Enter; "
                    "/help lists the commands, /quit leaves."
                )
            await converse(
                session,
                ui,
                stop,
                connect=connect,
                backoff=backoff,
                open_room=open_room,
                files=files,
            )
    finally:
        await session.close()
        if files is not None:
            await files.close()
    return EXIT_OK


def run(argv: list[str] | None = None) -> int:
    try:
        return asyncio.run(main(argv))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    quiet_grpc_core()
    sys.exit(run())
