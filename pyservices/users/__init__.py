"""UserService: the four RPC patterns over a SQLite user store (port 50057)."""
