"""Loopback ports for tests and benchmarks that start servers in other processes."""

from __future__ import annotations

import random
import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago.

    For a child process to listen on; a server in this process binds port 0 instead.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Below Linux's ephemeral range (32768-60999), from which outgoing connections
# take their local ports.
_STABLE_PORTS = range(20000, 32000)


def stable_port() -> int:
    """A free TCP port on 127.0.0.1 outside the ephemeral range, for a server a test stops
    and starts again on the same port.

    A port from the ephemeral range can be taken meanwhile as the local port of any
    outgoing connection on the machine, even a client reconnecting to that very port
    (TCP connects a socket to itself), and the restart then cannot bind it.
    """
    rng = random.Random()
    for _ in range(200):
        port = rng.choice(_STABLE_PORTS)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 32000")
