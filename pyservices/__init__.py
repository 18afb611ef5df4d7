"""Polychat's Python gRPC services: file, random, streaming, auth, logger and user."""

import os as _os

# gRPC's C core writes its own log lines to stderr (e.g. one per failed TLS handshake, at
# INFO). Our servers log what matters themselves and our clients print one-line errors, so
# only its errors are shown unless GRPC_VERBOSITY says otherwise. Set before grpc is imported.
_os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
