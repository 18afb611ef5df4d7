"""LoggerService: a durable audit log in SQLite (port 50055)."""
