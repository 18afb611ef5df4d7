import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChatMessage(_message.Message):
    __slots__ = ("user", "message", "timestamp", "room", "kind", "id", "sent_at", "client_sent_at", "epoch", "seq", "client_msg_id", "resume_token", "resumed", "recipient", "member_token")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[ChatMessage.Kind]
        KIND_TEXT: _ClassVar[ChatMessage.Kind]
        KIND_JOIN: _ClassVar[ChatMessage.Kind]
        KIND_LEAVE: _ClassVar[ChatMessage.Kind]
        KIND_SYSTEM: _ClassVar[ChatMessage.Kind]
        KIND_HISTORY_START: _ClassVar[ChatMessage.Kind]
        KIND_HISTORY_END: _ClassVar[ChatMessage.Kind]
        KIND_ACTION: _ClassVar[ChatMessage.Kind]
        KIND_PRIVATE: _ClassVar[ChatMessage.Kind]
    KIND_UNSPECIFIED: ChatMessage.Kind
    KIND_TEXT: ChatMessage.Kind
    KIND_JOIN: ChatMessage.Kind
    KIND_LEAVE: ChatMessage.Kind
    KIND_SYSTEM: ChatMessage.Kind
    KIND_HISTORY_START: ChatMessage.Kind
    KIND_HISTORY_END: ChatMessage.Kind
    KIND_ACTION: ChatMessage.Kind
    KIND_PRIVATE: ChatMessage.Kind
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
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    MEMBER_TOKEN_FIELD_NUMBER: _ClassVar[int]
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
    recipient: str
    member_token: str
    def __init__(self, user: _Optional[str] = ..., message: _Optional[str] = ..., timestamp: _Optional[int] = ..., room: _Optional[str] = ..., kind: _Optional[_Union[ChatMessage.Kind, str]] = ..., id: _Optional[int] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., client_sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., epoch: _Optional[str] = ..., seq: _Optional[int] = ..., client_msg_id: _Optional[str] = ..., resume_token: _Optional[str] = ..., resumed: _Optional[bool] = ..., recipient: _Optional[str] = ..., member_token: _Optional[str] = ...) -> None: ...

class JoinRequest(_message.Message):
    __slots__ = ("user", "room", "resume_token", "resume_epoch", "resume_seq")
    USER_FIELD_NUMBER: _ClassVar[int]
    ROOM_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RESUME_EPOCH_FIELD_NUMBER: _ClassVar[int]
    RESUME_SEQ_FIELD_NUMBER: _ClassVar[int]
    user: str
    room: str
    resume_token: str
    resume_epoch: str
    resume_seq: int
    def __init__(self, user: _Optional[str] = ..., room: _Optional[str] = ..., resume_token: _Optional[str] = ..., resume_epoch: _Optional[str] = ..., resume_seq: _Optional[int] = ...) -> None: ...

class SendRequest(_message.Message):
    __slots__ = ("member_token", "message", "kind", "recipient", "client_msg_id", "client_sent_at")
    MEMBER_TOKEN_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_MSG_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_SENT_AT_FIELD_NUMBER: _ClassVar[int]
    member_token: str
    message: str
    kind: ChatMessage.Kind
    recipient: str
    client_msg_id: str
    client_sent_at: _timestamp_pb2.Timestamp
    def __init__(self, member_token: _Optional[str] = ..., message: _Optional[str] = ..., kind: _Optional[_Union[ChatMessage.Kind, str]] = ..., recipient: _Optional[str] = ..., client_msg_id: _Optional[str] = ..., client_sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SendResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class LeaveRequest(_message.Message):
    __slots__ = ("member_token",)
    MEMBER_TOKEN_FIELD_NUMBER: _ClassVar[int]
    member_token: str
    def __init__(self, member_token: _Optional[str] = ...) -> None: ...

class LeaveResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListMembersRequest(_message.Message):
    __slots__ = ("room", "page_size", "page_token")
    ROOM_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    room: str
    page_size: int
    page_token: str
    def __init__(self, room: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListMembersResponse(_message.Message):
    __slots__ = ("members", "total", "next_page_token")
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[Member]
    total: int
    next_page_token: str
    def __init__(self, members: _Optional[_Iterable[_Union[Member, _Mapping]]] = ..., total: _Optional[int] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Member(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListRoomsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRoomsResponse(_message.Message):
    __slots__ = ("rooms", "total", "next_page_token")
    ROOMS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    rooms: _containers.RepeatedCompositeFieldContainer[Room]
    total: int
    next_page_token: str
    def __init__(self, rooms: _Optional[_Iterable[_Union[Room, _Mapping]]] = ..., total: _Optional[int] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Room(_message.Message):
    __slots__ = ("name", "member_count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MEMBER_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    member_count: int
    def __init__(self, name: _Optional[str] = ..., member_count: _Optional[int] = ...) -> None: ...
