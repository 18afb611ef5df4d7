"""File sharing over the generated stubs, with nothing of the clients in between.

Each call goes to the chat server (OfferFile, ShareFile, GetFile) or to
StreamingService (UploadFile, DownloadFile) as the protocol describes it, so
that tests can prepare a shared file, or check a refusal, one RPC at a time.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
from polychat.chat import chat_pb2, chat_pb2_grpc
from polychat.streaming.v1 import streaming_pb2, streaming_pb2_grpc

from tests.interop.harness import DEFAULT_TIMEOUT


def _chat(address: str) -> tuple[grpc.Channel, chat_pb2_grpc.ChatServiceStub]:
    channel = grpc.insecure_channel(address)
    return channel, chat_pb2_grpc.ChatServiceStub(channel)


def _streaming(address: str) -> tuple[grpc.Channel, streaming_pb2_grpc.StreamingServiceStub]:
    channel = grpc.insecure_channel(address)
    return channel, streaming_pb2_grpc.StreamingServiceStub(channel)


def offer(chat: str, token: str, name: str, size: int) -> chat_pb2.OfferFileResponse:
    channel, stub = _chat(chat)
    with channel:
        request = chat_pb2.OfferFileRequest(member_token=token, name=name, size=size)
        return stub.OfferFile(request, timeout=DEFAULT_TIMEOUT)


def upload(streaming: str, grant: str, name: str, data: bytes) -> streaming_pb2.UploadFileResponse:
    def requests() -> Iterator[streaming_pb2.UploadFileRequest]:
        meta = streaming_pb2.UploadFileMetadata(name=name, size=len(data), grant=grant)
        yield streaming_pb2.UploadFileRequest(metadata=meta)
        for i in range(0, len(data), 65536):
            yield streaming_pb2.UploadFileRequest(chunk=data[i : i + 65536])

    channel, stub = _streaming(streaming)
    with channel:
        return stub.UploadFile(requests(), timeout=DEFAULT_TIMEOUT)


def share(chat: str, token: str, receipt: str) -> chat_pb2.ShareFileResponse:
    channel, stub = _chat(chat)
    with channel:
        request = chat_pb2.ShareFileRequest(member_token=token, receipt=receipt)
        return stub.ShareFile(request, timeout=DEFAULT_TIMEOUT)


def get(chat: str, token: str, file_id: int) -> chat_pb2.GetFileResponse:
    channel, stub = _chat(chat)
    with channel:
        request = chat_pb2.GetFileRequest(member_token=token, file_id=file_id)
        return stub.GetFile(request, timeout=DEFAULT_TIMEOUT)


def download(streaming: str, grant: str) -> tuple[streaming_pb2.DownloadFileMetadata, bytes]:
    channel, stub = _streaming(streaming)
    with channel:
        call = stub.DownloadFile(
            streaming_pb2.DownloadFileRequest(grant=grant), timeout=DEFAULT_TIMEOUT
        )
        replies = list(call)
    return replies[0].metadata, b"".join(r.chunk for r in replies[1:])


def offer_and_upload(chat: str, streaming: str, token: str, name: str, data: bytes) -> str:
    """Offer and upload a file as the member of `token`; the upload's receipt."""
    grant = offer(chat, token, name, len(data)).upload_grant
    return upload(streaming, grant, name, data).receipt


def share_bytes(
    chat: str, streaming: str, token: str, name: str, data: bytes
) -> chat_pb2.SharedFile:
    """Offer, upload and share a file as the member of `token`."""
    receipt = offer_and_upload(chat, streaming, token, name, data)
    return share(chat, token, receipt).file
