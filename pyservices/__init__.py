"""Polychat's Python gRPC services: file, random, streaming, auth, logger and user."""
