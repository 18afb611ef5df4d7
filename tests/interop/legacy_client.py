"""A chat client written against only the documented three-field protocol.

It knows nothing of Polychat's extensions: no metadata, no rooms, no kinds.
It sends `ChatMessage{user, message, timestamp}` for every stdin line and
prints every message it receives as `[user]: message`, one per line.
With --as-read it sends each line as it was read, line ending included, as
the documented Go client does (it reads with bufio.Reader.ReadString('\n')).

Usage: python legacy_client.py GENERATED_DIR SERVER NAME [--as-read]
"""

from __future__ import annotations

import queue
import signal
import sys
import threading
import time


def main() -> int:
    # Ctrl+C ends the process at once, as it does a program with no handler of
    # its own, and the connection drops with it. Python's KeyboardInterrupt
    # would have to unwind through grpcio's synchronous stream, which does not
    # always let it (grpc/grpc#40834): the client then never exits.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    generated_dir, server, name = sys.argv[1:4]
    as_read = "--as-read" in sys.argv[4:]
    sys.path.insert(0, generated_dir)
    import chat_pb2
    import chat_pb2_grpc
    import grpc

    outgoing: queue.Queue[str | None] = queue.Queue()

    def read_stdin() -> None:
        for line in sys.stdin:
            outgoing.put(line if as_read else line.rstrip("\n"))
        outgoing.put(None)

    def requests():
        while (text := outgoing.get()) is not None:
            yield chat_pb2.ChatMessage(user=name, message=text, timestamp=int(time.time()))

    threading.Thread(target=read_stdin, daemon=True).start()
    with grpc.insecure_channel(server) as channel:
        stub = chat_pb2_grpc.ChatServiceStub(channel)
        try:
            for msg in stub.ChatStream(requests()):
                print(f"[{msg.user}]: {msg.message}", flush=True)
        except grpc.RpcError as err:
            print(f"rpc ended: {err.code().name}", file=sys.stderr, flush=True)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
