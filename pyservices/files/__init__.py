"""FileService: a greeting, the server's time, and small atomic file uploads."""
