"""A child process on a pseudo-terminal, typed at the way a person types.

The chat clients only edit lines in place (and redraw them under incoming
messages) when they talk to a terminal, so that is what these tests give them:
an 80x24 terminal emulated by pyte, whose screen the tests read as a person
would, and which answers the clients' cursor-position requests.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pyte

from tests.interop.harness import DEFAULT_TIMEOUT, kill_group

COLUMNS, ROWS = 80, 24


class _Screen(pyte.Screen):
    """A screen that answers the program's status requests on the terminal."""

    def __init__(self, answer_fd: int) -> None:
        super().__init__(COLUMNS, ROWS)
        self._answer_fd = answer_fd

    def write_process_input(self, data: str) -> None:
        os.write(self._answer_fd, data.encode())


class PtyProc:
    """A process whose stdin, stdout and stderr are one terminal."""

    def __init__(
        self, name: str, argv: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None
    ) -> None:
        self.name = name
        self._changed = threading.Condition()
        main, child = pty.openpty()
        fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        self._proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env={**os.environ, "TERM": "xterm", **(env or {})},
            stdin=child,
            stdout=child,
            stderr=child,
            start_new_session=True,
        )
        os.close(child)
        self._fd = main
        self._screen = _Screen(main)
        self._stream = pyte.ByteStream(self._screen)
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        while True:
            try:
                data = os.read(self._fd, 4096)
            except OSError:  # the child side closed: the process has exited
                data = b""
            with self._changed:
                if data:
                    self._stream.feed(data)
                self._changed.notify_all()
            if not data:
                return

    def lines(self) -> list[str]:
        """The screen as a person sees it now, top to bottom, without trailing blanks."""
        with self._changed:
            screen = [line.rstrip() for line in self._screen.display]
        while screen and not screen[-1]:
            screen.pop()
        return screen

    def type(self, keys: str) -> None:
        """Type keys as they are (Enter is "\\r")."""
        os.write(self._fd, keys.encode())

    def expect(self, *patterns: str, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
        """Wait until the screen shows, top to bottom, lines matching each regex in turn;
        a pattern starting with "^" must match the cursor's line. Returns the screen."""
        regexes = [re.compile(p) for p in patterns]
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                screen = self.lines()
                if self._shows(screen, regexes):
                    return screen
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._reader.is_alive():
                    shown = "\n".join(screen)
                    row = self._screen.cursor.y + 1
                    raise AssertionError(
                        f"{self.name}: the screen does not show {patterns!r} within {timeout}s "
                        f"(exit code {self._proc.poll()}, cursor on row {row}):\n{shown}"
                    )
                self._changed.wait(min(remaining, 0.2))

    def _shows(self, screen: list[str], regexes: list[re.Pattern[str]]) -> bool:
        row = 0
        for regex in regexes:
            if regex.pattern.startswith("^"):
                cursor = self._screen.cursor.y
                if cursor < row or cursor >= len(screen) or not regex.search(screen[cursor]):
                    return False
                row = cursor + 1
                continue
            while row < len(screen) and not regex.search(screen[row]):
                row += 1
            if row == len(screen):
                return False
            row += 1
        return True

    def wait(self, timeout: float = DEFAULT_TIMEOUT) -> int:
        return self._proc.wait(timeout)

    def stop(self) -> None:
        """Kill the process (and its group) if it still runs, and close the terminal."""
        kill_group(self._proc)
        self._reader.join(5)
        os.close(self._fd)
