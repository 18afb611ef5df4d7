from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class GetUserRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    def __init__(self, user_id: _Optional[int] = ...) -> None: ...

class CreateUserRequest(_message.Message):
    __slots__ = ("name", "email", "age")
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    AGE_FIELD_NUMBER: _ClassVar[int]
    name: str
    email: str
    age: int
    def __init__(self, name: _Optional[str] = ..., email: _Optional[str] = ..., age: _Optional[int] = ...) -> None: ...

class ListUsersRequest(_message.Message):
    __slots__ = ("limit",)
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    limit: int
    def __init__(self, limit: _Optional[int] = ...) -> None: ...

class UserResponse(_message.Message):
    __slots__ = ("user_id", "name", "email", "age", "created_at")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    AGE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    name: str
    email: str
    age: int
    created_at: str
    def __init__(self, user_id: _Optional[int] = ..., name: _Optional[str] = ..., email: _Optional[str] = ..., age: _Optional[int] = ..., created_at: _Optional[str] = ...) -> None: ...

class BatchCreateResponse(_message.Message):
    __slots__ = ("users_created", "user_ids")
    USERS_CREATED_FIELD_NUMBER: _ClassVar[int]
    USER_IDS_FIELD_NUMBER: _ClassVar[int]
    users_created: int
    user_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, users_created: _Optional[int] = ..., user_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class UserMessage(_message.Message):
    __slots__ = ("user_id", "message", "timestamp")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    message: str
    timestamp: str
    def __init__(self, user_id: _Optional[int] = ..., message: _Optional[str] = ..., timestamp: _Optional[str] = ...) -> None: ...
