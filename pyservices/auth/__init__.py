"""AuthService: argon2id passwords and persistent sessions (port 50054)."""
