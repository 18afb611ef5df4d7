"""UserService: unary, server-streaming, client-streaming and bidirectional RPCs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime

import grpc
from polychat.user.v1 import user_pb2, user_pb2_grpc

from pykit.text import sanitize
from pyservices.identity import identity_key
from pyservices.spec import NoOptions, ServiceSpec, Settings
from pyservices.users.store import EmailTaken, NewUser, User, UserStore
from pyservices.users.validate import InvalidUser, check_new_user

log = logging.getLogger("pyservices.users")

SERVICE_NAME = user_pb2.DESCRIPTOR.services_by_name["UserService"].full_name
DEFAULT_PORT = 50057
MAX_BATCH = 1000
MAX_CHAT_CHARS = 4096
PAGE_SIZE = 100


def to_proto(user: User) -> user_pb2.UserResponse:
    return user_pb2.UserResponse(
        user_id=user.id,
        name=user.name,
        email=user.email,
        age=user.age,
        created_at=user.created_at,
    )


class UserServicer(user_pb2_grpc.UserServiceServicer):
    def __init__(self, store: UserStore) -> None:
        self.store = store

    async def GetUser(
        self, request: user_pb2.GetUserRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.UserResponse:
        user = await self.store.get(request.user_id)
        if user is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"user {request.user_id} not found")
        return to_proto(user)

    async def CreateUser(
        self, request: user_pb2.CreateUserRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.UserResponse:
        try:
            new = check_new_user(request)
        except InvalidUser as err:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        try:
            (user,) = await self.store.create_many([new])
        except EmailTaken:
            await context.abort(
                grpc.StatusCode.ALREADY_EXISTS,
                f"email: {sanitize(new.email)} is already registered",
            )
        log.info("created user id=%d", user.id)
        return to_proto(user)

    async def ListUsers(
        self, request: user_pb2.ListUsersRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[user_pb2.UserResponse]:
        if request.limit < 0:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "limit: must not be negative")
        remaining = request.limit or None
        after = 0
        while remaining is None or remaining > 0:
            size = PAGE_SIZE if remaining is None else min(PAGE_SIZE, remaining)
            users = await self.store.page(after, size)
            for user in users:
                yield to_proto(user)
            if len(users) < size:
                return
            after = users[-1].id
            if remaining is not None:
                remaining -= len(users)

    async def BatchCreateUsers(
        self,
        request_iterator: AsyncIterator[user_pb2.CreateUserRequest],
        context: grpc.aio.ServicerContext,
    ) -> user_pb2.BatchCreateResponse:
        # All or nothing: every item is checked as it arrives, and the batch is
        # stored in one transaction only once the client has finished sending.
        batch: list[NewUser] = []
        seen: dict[str, int] = {}
        async for request in request_iterator:
            index = len(batch)
            if index >= MAX_BATCH:
                await context.abort(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"batch too large: at most {MAX_BATCH} users per batch; nothing was stored",
                )
            try:
                new = check_new_user(request)
            except InvalidUser as err:
                await context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT, f"item {index}: {err}; nothing was stored"
                )
            key = identity_key(new.email)
            if key in seen:
                await context.abort(
                    grpc.StatusCode.ALREADY_EXISTS,
                    f"item {index}: email: {sanitize(new.email)} repeats item {seen[key]};"
                    " nothing was stored",
                )
            seen[key] = index
            batch.append(new)
        try:
            users = await self.store.create_many(batch)
        except EmailTaken as err:
            await context.abort(
                grpc.StatusCode.ALREADY_EXISTS,
                f"item {err.index}: email: {sanitize(err.email)} is already registered;"
                " nothing was stored",
            )
        log.info("batch created users=%d", len(users))
        return user_pb2.BatchCreateResponse(
            users_created=len(users), user_ids=[u.id for u in users]
        )

    async def StreamUsers(
        self,
        request_iterator: AsyncIterator[user_pb2.UserMessage],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[user_pb2.UserMessage]:
        async for message in request_iterator:
            if len(message.message) > MAX_CHAT_CHARS:
                await context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"message: must be at most {MAX_CHAT_CHARS} characters",
                )
            yield user_pb2.UserMessage(
                user_id=message.user_id,
                message=f"Server received: {message.message} from user {message.user_id}",
                timestamp=datetime.now().replace(microsecond=0).isoformat(),
            )


async def register(
    server: grpc.aio.Server, settings: Settings, options: NoOptions
) -> Callable[[], Awaitable[None]] | None:
    store = UserStore(settings.data_dir / "users.db")
    await store.open(on_lost=settings.on_store_lost)
    user_pb2_grpc.add_UserServiceServicer_to_server(UserServicer(store), server)
    log.info("user database path=%s", store.path)
    return store.close


SPEC = ServiceSpec(
    name="user",
    service_names=(SERVICE_NAME,),
    default_port=DEFAULT_PORT,
    register=register,
)
