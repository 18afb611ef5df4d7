import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChatMessage(_message.Message):
    __slots__ = ("user", "message", "timestamp", "room", "kind", "id", "sent_at", "client_sent_at", "epoch", "seq", "client_msg_id", "resume_token", "resumed", "recipient", "member_token", "file", "refusal", "topic")
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
        KIND_MODERATION: _ClassVar[ChatMessage.Kind]
        KIND_FILE: _ClassVar[ChatMessage.Kind]
        KIND_REFUSED: _ClassVar[ChatMessage.Kind]
        KIND_HEARTBEAT: _ClassVar[ChatMessage.Kind]
    KIND_UNSPECIFIED: ChatMessage.Kind
    KIND_TEXT: ChatMessage.Kind
    KIND_JOIN: ChatMessage.Kind
    KIND_LEAVE: ChatMessage.Kind
    KIND_SYSTEM: ChatMessage.Kind
    KIND_HISTORY_START: ChatMessage.Kind
    KIND_HISTORY_END: ChatMessage.Kind
    KIND_ACTION: ChatMessage.Kind
    KIND_PRIVATE: ChatMessage.Kind
    KIND_MODERATION: ChatMessage.Kind
    KIND_FILE: ChatMessage.Kind
    KIND_REFUSED: ChatMessage.Kind
    KIND_HEARTBEAT: ChatMessage.Kind
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
    FILE_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_FIELD_NUMBER: _ClassVar[int]
    TOPIC_FIELD_NUMBER: _ClassVar[int]
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
    file: SharedFile
    refusal: Refusal
    topic: str
    def __init__(self, user: _Optional[str] = ..., message: _Optional[str] = ..., timestamp: _Optional[int] = ..., room: _Optional[str] = ..., kind: _Optional[_Union[ChatMessage.Kind, str]] = ..., id: _Optional[int] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., client_sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., epoch: _Optional[str] = ..., seq: _Optional[int] = ..., client_msg_id: _Optional[str] = ..., resume_token: _Optional[str] = ..., resumed: _Optional[bool] = ..., recipient: _Optional[str] = ..., member_token: _Optional[str] = ..., file: _Optional[_Union[SharedFile, _Mapping]] = ..., refusal: _Optional[_Union[Refusal, _Mapping]] = ..., topic: _Optional[str] = ...) -> None: ...

class SharedFile(_message.Message):
    __slots__ = ("id", "name", "size", "sha256", "user", "room")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    ROOM_FIELD_NUMBER: _ClassVar[int]
    id: int
    name: str
    size: int
    sha256: str
    user: str
    room: str
    def __init__(self, id: _Optional[int] = ..., name: _Optional[str] = ..., size: _Optional[int] = ..., sha256: _Optional[str] = ..., user: _Optional[str] = ..., room: _Optional[str] = ...) -> None: ...

class Refusal(_message.Message):
    __slots__ = ("reason", "until")
    class Reason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        REASON_UNSPECIFIED: _ClassVar[Refusal.Reason]
        REASON_MUTED: _ClassVar[Refusal.Reason]
    REASON_UNSPECIFIED: Refusal.Reason
    REASON_MUTED: Refusal.Reason
    REASON_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    reason: Refusal.Reason
    until: _timestamp_pb2.Timestamp
    def __init__(self, reason: _Optional[_Union[Refusal.Reason, str]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class JoinRequest(_message.Message):
    __slots__ = ("user", "room", "resume_token", "resume_epoch", "resume_seq", "heartbeat_seconds")
    USER_FIELD_NUMBER: _ClassVar[int]
    ROOM_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RESUME_EPOCH_FIELD_NUMBER: _ClassVar[int]
    RESUME_SEQ_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    user: str
    room: str
    resume_token: str
    resume_epoch: str
    resume_seq: int
    heartbeat_seconds: int
    def __init__(self, user: _Optional[str] = ..., room: _Optional[str] = ..., resume_token: _Optional[str] = ..., resume_epoch: _Optional[str] = ..., resume_seq: _Optional[int] = ..., heartbeat_seconds: _Optional[int] = ...) -> None: ...

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

class KickRequest(_message.Message):
    __slots__ = ("room", "user", "reason")
    ROOM_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    room: str
    user: str
    reason: str
    def __init__(self, room: _Optional[str] = ..., user: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class KickResponse(_message.Message):
    __slots__ = ("memberships",)
    MEMBERSHIPS_FIELD_NUMBER: _ClassVar[int]
    memberships: int
    def __init__(self, memberships: _Optional[int] = ...) -> None: ...

class MuteRequest(_message.Message):
    __slots__ = ("room", "user", "duration", "reason")
    ROOM_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    room: str
    user: str
    duration: _duration_pb2.Duration
    reason: str
    def __init__(self, room: _Optional[str] = ..., user: _Optional[str] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class MuteResponse(_message.Message):
    __slots__ = ("until",)
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    until: _timestamp_pb2.Timestamp
    def __init__(self, until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UnmuteRequest(_message.Message):
    __slots__ = ("room", "user")
    ROOM_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    room: str
    user: str
    def __init__(self, room: _Optional[str] = ..., user: _Optional[str] = ...) -> None: ...

class UnmuteResponse(_message.Message):
    __slots__ = ("was_muted",)
    WAS_MUTED_FIELD_NUMBER: _ClassVar[int]
    was_muted: bool
    def __init__(self, was_muted: _Optional[bool] = ...) -> None: ...

class BanRequest(_message.Message):
    __slots__ = ("room", "user", "duration", "reason")
    ROOM_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    room: str
    user: str
    duration: _duration_pb2.Duration
    reason: str
    def __init__(self, room: _Optional[str] = ..., user: _Optional[str] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class BanResponse(_message.Message):
    __slots__ = ("until", "memberships")
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    MEMBERSHIPS_FIELD_NUMBER: _ClassVar[int]
    until: _timestamp_pb2.Timestamp
    memberships: int
    def __init__(self, until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., memberships: _Optional[int] = ...) -> None: ...

class UnbanRequest(_message.Message):
    __slots__ = ("room", "user")
    ROOM_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    room: str
    user: str
    def __init__(self, room: _Optional[str] = ..., user: _Optional[str] = ...) -> None: ...

class UnbanResponse(_message.Message):
    __slots__ = ("was_banned",)
    WAS_BANNED_FIELD_NUMBER: _ClassVar[int]
    was_banned: bool
    def __init__(self, was_banned: _Optional[bool] = ...) -> None: ...

class OpRequest(_message.Message):
    __slots__ = ("room", "user")
    ROOM_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    room: str
    user: str
    def __init__(self, room: _Optional[str] = ..., user: _Optional[str] = ...) -> None: ...

class OpResponse(_message.Message):
    __slots__ = ("granted",)
    GRANTED_FIELD_NUMBER: _ClassVar[int]
    granted: bool
    def __init__(self, granted: _Optional[bool] = ...) -> None: ...

class SetTopicRequest(_message.Message):
    __slots__ = ("room", "topic")
    ROOM_FIELD_NUMBER: _ClassVar[int]
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    room: str
    topic: str
    def __init__(self, room: _Optional[str] = ..., topic: _Optional[str] = ...) -> None: ...

class SetTopicResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetRolesRequest(_message.Message):
    __slots__ = ("room",)
    ROOM_FIELD_NUMBER: _ClassVar[int]
    room: str
    def __init__(self, room: _Optional[str] = ...) -> None: ...

class GetRolesResponse(_message.Message):
    __slots__ = ("moderation", "admins", "owners", "can_moderate", "topic")
    MODERATION_FIELD_NUMBER: _ClassVar[int]
    ADMINS_FIELD_NUMBER: _ClassVar[int]
    OWNERS_FIELD_NUMBER: _ClassVar[int]
    CAN_MODERATE_FIELD_NUMBER: _ClassVar[int]
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    moderation: bool
    admins: _containers.RepeatedScalarFieldContainer[str]
    owners: _containers.RepeatedScalarFieldContainer[str]
    can_moderate: bool
    topic: str
    def __init__(self, moderation: _Optional[bool] = ..., admins: _Optional[_Iterable[str]] = ..., owners: _Optional[_Iterable[str]] = ..., can_moderate: _Optional[bool] = ..., topic: _Optional[str] = ...) -> None: ...

class ListBansRequest(_message.Message):
    __slots__ = ("room",)
    ROOM_FIELD_NUMBER: _ClassVar[int]
    room: str
    def __init__(self, room: _Optional[str] = ...) -> None: ...

class ListBansResponse(_message.Message):
    __slots__ = ("bans",)
    BANS_FIELD_NUMBER: _ClassVar[int]
    bans: _containers.RepeatedCompositeFieldContainer[RoomBan]
    def __init__(self, bans: _Optional[_Iterable[_Union[RoomBan, _Mapping]]] = ...) -> None: ...

class RoomBan(_message.Message):
    __slots__ = ("user", "by", "reason", "since", "until")
    USER_FIELD_NUMBER: _ClassVar[int]
    BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    user: str
    by: str
    reason: str
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    def __init__(self, user: _Optional[str] = ..., by: _Optional[str] = ..., reason: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class OfferFileRequest(_message.Message):
    __slots__ = ("member_token", "name", "size")
    MEMBER_TOKEN_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    member_token: str
    name: str
    size: int
    def __init__(self, member_token: _Optional[str] = ..., name: _Optional[str] = ..., size: _Optional[int] = ...) -> None: ...

class OfferFileResponse(_message.Message):
    __slots__ = ("file_id", "upload_grant", "expires_at")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_GRANT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    upload_grant: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, file_id: _Optional[int] = ..., upload_grant: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ShareFileRequest(_message.Message):
    __slots__ = ("member_token", "receipt")
    MEMBER_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    member_token: str
    receipt: str
    def __init__(self, member_token: _Optional[str] = ..., receipt: _Optional[str] = ...) -> None: ...

class ShareFileResponse(_message.Message):
    __slots__ = ("file",)
    FILE_FIELD_NUMBER: _ClassVar[int]
    file: SharedFile
    def __init__(self, file: _Optional[_Union[SharedFile, _Mapping]] = ...) -> None: ...

class GetFileRequest(_message.Message):
    __slots__ = ("member_token", "file_id")
    MEMBER_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    member_token: str
    file_id: int
    def __init__(self, member_token: _Optional[str] = ..., file_id: _Optional[int] = ...) -> None: ...

class GetFileResponse(_message.Message):
    __slots__ = ("file", "download_grant", "expires_at")
    FILE_FIELD_NUMBER: _ClassVar[int]
    DOWNLOAD_GRANT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    file: SharedFile
    download_grant: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, file: _Optional[_Union[SharedFile, _Mapping]] = ..., download_grant: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
