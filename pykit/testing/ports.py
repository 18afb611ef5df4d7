"""Loopback ports for tests and benchmarks that start servers in other processes."""

from __future__ import annotations

import random
import socket

# Below Linux's ephemeral range (32768-60999), from which outgoing connections
# take their local ports.
_PORTS = range(20000, 32000)
_given: set[int] = set()


def free_port() -> int:
    """A free TCP port on 127.0.0.1 for a server in a child process to listen on (a server
    in this process binds port 0 instead), never one this process gave before.

    It is below the ephemeral range: a port from that range can be taken, between this
    call and the child's bind, as the local port of any outgoing connection on the
    machine, and a server a test stops and starts again can lose its port the same way
    (even to a client reconnecting to that very port: TCP connects a socket to itself).
    """
    rng = random.Random()
    for _ in range(500):
        port = rng.choice(_PORTS)
        if port in _given:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.add(port)
        return port
    raise RuntimeError(f"no free port between {_PORTS.start} and {_PORTS.stop - 1}")
