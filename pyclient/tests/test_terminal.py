"""The terminal prompt across a reconnect: what the user was typing stays on the line."""

from __future__ import annotations

import asyncio

import grpc
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from pyclient.backoff import Backoff, BackoffPolicy
from pyclient.conversation import converse
from pyclient.session import ChatSession
from pyclient.terminal import TerminalUI
from pyclient.tests.fakeserver import FakeChat

WAIT = 10.0


async def test_a_half_typed_line_survives_a_reconnect(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
) -> None:
    fake, port, _ = fake_server

    def connect(token: str | None, resume_from: str | None) -> ChatSession:
        return ChatSession(
            f"127.0.0.1:{port}", "Alice", "general", resume_token=token, resume_from=resume_from
        )

    with create_pipe_input() as keys, create_app_session(input=keys, output=DummyOutput()):
        ui = TerminalUI()
        typed = asyncio.Event()
        ui._prompt.default_buffer.on_text_changed += lambda _: typed.set()
        session = connect(None, None)
        await session.open()
        with ui.active():
            task = asyncio.create_task(
                converse(
                    session,
                    ui,
                    asyncio.Event(),
                    connect=connect,
                    backoff=Backoff(BackoffPolicy(base=0.001, max_delay=0.01)),
                )
            )
            try:
                member = await asyncio.wait_for(fake.joined.get(), WAIT)
                keys.send_text("half-")
                await asyncio.wait_for(typed.wait(), WAIT)
                fake.drop(member)
                again = await asyncio.wait_for(fake.joined.get(), WAIT)
                assert "chat-resume-token" in again.metadata
                keys.send_text("typed\r")
                name, msg = await asyncio.wait_for(fake.relayed.get(), WAIT)
                assert (name, msg.message) == ("Alice", "half-typed")
                keys.send_text("/quit\r")
                await asyncio.wait_for(task, WAIT)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                await session.close()
