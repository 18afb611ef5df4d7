"""The terminal UI: a prompt_toolkit prompt with incoming messages printed above it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from prompt_toolkit import PromptSession
from prompt_toolkit.patch_stdout import patch_stdout

NAME_PROMPT = "Enter your username: "
INPUT_PROMPT = "You: "


async def ask_name() -> str | None:
    """Ask for a username. None at end of input (Ctrl+D); Ctrl+C raises KeyboardInterrupt."""
    session: PromptSession[str] = PromptSession()
    try:
        answer = await session.prompt_async(NAME_PROMPT)
    except EOFError:
        return None
    return answer.strip()


class TerminalUI:
    """`You: ` prompt on the bottom line; `show()` prints above it without touching the input."""

    output_closed = False

    def __init__(self) -> None:
        self._prompt: PromptSession[str] = PromptSession()

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        # While active, print() goes through prompt_toolkit, which redraws the prompt (and what
        # the user has typed so far) below each printed line. Must be entered on the running
        # event loop that receives messages.
        with patch_stdout():
            yield

    async def read_line(self) -> str | None:
        """The next line typed, or None when the user leaves with Ctrl+C or Ctrl+D."""
        try:
            return await self._prompt.prompt_async(INPUT_PROMPT)
        except (EOFError, KeyboardInterrupt):
            return None

    def show(self, line: str) -> None:
        print(line)
