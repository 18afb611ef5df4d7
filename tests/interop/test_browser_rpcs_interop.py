"""Join, Send and Leave (the browsers' RPCs) from the generated Python stubs, with the real
server and the Go and Python terminal clients in the same room.

The page in the browser is tested in web/tests; here a client generated from proto/ in
another language uses the same RPCs directly, as the protocol documentation describes.
"""

from __future__ import annotations

import grpc

from tests.interop import rawchat
from tests.interop.conftest import ChatServer, Processes
from tests.interop.test_chat_interop import start, welcomed


def test_generated_python_client_chats_over_join_and_send(
    procs: Processes, server: ChatServer
) -> None:
    go = start(procs, "go", server, "Gus", "web")
    welcomed(go, "Gus", "web")
    py = start(procs, "py", server, "Pia", "web")
    welcomed(py, "Pia", "web")
    member = rawchat.join_rpc(server.address, "Wes", room="web")
    try:
        assert member.welcomed().message == "Welcome, Wes! You are in room web."
        assert member.welcomed().resume_token
        go.expect(r">>> Wes joined the room$")

        member.send("hello over Send", client_msg_id="wes-1")
        member.send("hello over Send", client_msg_id="wes-1")  # a resend: relayed once
        member.send("waves", kind=rawchat.Msg.KIND_ACTION)
        go.expect(r"^\* Wes waves$")
        py.expect(r"^\* Wes waves$")
        assert go.lines.count("[Wes]: hello over Send") == 1
        assert py.lines.count("[Wes]: hello over Send") == 1

        go.send("hello Wes")
        member.expect_text("Gus", "hello Wes")

        try:
            member.send("x" * 5000)
            raise AssertionError("an over-long Send was taken")
        except grpc.RpcError as err:
            assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "the limit is 4096 bytes" in (err.details() or "")

        member.leave()
        assert member.wait_end() is None  # the Join stream ends OK
        go.expect(r">>> Wes left the room$")
        py.expect(r">>> Wes left the room$")
    finally:
        member.close()
