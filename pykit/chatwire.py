"""The chat wire's names and defaults, as the Go chat server and clients spell them.

Go's internal/chatwire/chatwire.go is the one home of each value; this is the Python copy,
and pykit/tests/test_chatwire.py checks that the two agree, name for name (Go's `UserKey`
is `USER_KEY` here). Change a value there and here together.
"""

from __future__ import annotations

from typing import Final

# Request metadata keys (docs/chat-protocol.md). Binary forms add "-bin".
USER_KEY: Final = "chat-user"
ROOM_KEY: Final = "chat-room"
AUTHORIZATION_KEY: Final = "authorization"
# Resuming after a drop: the welcome's resume_token (secret: never logged or shown), and
# "<epoch>:<seq>", the store epoch and the last text seq the client showed in its room.
RESUME_TOKEN_KEY: Final = "chat-resume-token"
RESUME_FROM_KEY: Final = "chat-resume-from"

# The room of a client that names none.
DEFAULT_ROOM: Final = "general"

# Addresses: *_SERVER is called, *_ADDR is listened on.
DEFAULT_SERVER: Final = "localhost:50053"
DEFAULT_AUTH_SERVER: Final = "localhost:50054"
DEFAULT_STREAMING_SERVER: Final = "localhost:50056"
DEFAULT_ADDR: Final = ":50053"

# The chat server's default limits: bytes of one message's text and of a user or room name,
# messages queued for one member, text messages kept and replayed per room.
MAX_MESSAGE_BYTES: Final = 4096
MAX_NAME_BYTES: Final = 64
QUEUE_SIZE: Final = 256
HISTORY_SIZE: Final = 50

# Clients reconnect with gRPC's connection backoff: the first attempt at once, then waits
# from 1 s, each 1.6 times the one before, up to the maximum, moved at random by up to 20 %
# either way. Lines typed while disconnected: at most this many wait to be sent.
RECONNECT_BASE_DELAY_MS: Final = 1000
RECONNECT_MULTIPLIER_PERCENT: Final = 160
RECONNECT_JITTER_PERCENT: Final = 20
RECONNECT_MAX_DELAY_MS: Final = 30000
MAX_PENDING_LINES: Final = 100
