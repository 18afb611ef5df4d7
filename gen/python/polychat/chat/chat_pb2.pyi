import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChatMessage(_message.Message):
    __slots__ = ("user", "message", "timestamp", "room", "kind", "id", "sent_at", "client_sent_at", "epoch", "seq", "client_msg_id", "resume_token", "resumed")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[ChatMessage.Kind]
        KIND_TEXT: _ClassVar[ChatMessage.Kind]
        KIND_JOIN: _ClassVar[ChatMessage.Kind]
        KIND_LEAVE: _ClassVar[ChatMessage.Kind]
        KIND_SYSTEM: _ClassVar[ChatMessage.Kind]
        KIND_HISTORY_START: _ClassVar[ChatMessage.Kind]
        KIND_HISTORY_END: _ClassVar[ChatMessage.Kind]
    KIND_UNSPECIFIED: ChatMessage.Kind
    KIND_TEXT: ChatMessage.Kind
    KIND_JOIN: ChatMessage.Kind
    KIND_LEAVE: ChatMessage.Kind
    KIND_SYSTEM: ChatMessage.Kind
    KIND_HISTORY_START: ChatMessage.Kind
    KIND_HISTORY_END: ChatMessage.Kind
    USER_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    ROOM_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_SENT_AT_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    CLIENT_MSG_ID_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RESUMED_FIELD_NUMBER: _ClassVar[int]
    user: str
    message: str
    timestamp: int
    room: str
    kind: ChatMessage.Kind
    id: int
    sent_at: _timestamp_pb2.Timestamp
    client_sent_at: _timestamp_pb2.Timestamp
    epoch: str
    seq: int
    client_msg_id: str
    resume_token: str
    resumed: bool
    def __init__(self, user: _Optional[str] = ..., message: _Optional[str] = ..., timestamp: _Optional[int] = ..., room: _Optional[str] = ..., kind: _Optional[_Union[ChatMessage.Kind, str]] = ..., id: _Optional[int] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., client_sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., epoch: _Optional[str] = ..., seq: _Optional[int] = ..., client_msg_id: _Optional[str] = ..., resume_token: _Optional[str] = ..., resumed: _Optional[bool] = ...) -> None: ...
