"""StreamingService: server time stream, chunked uploads and a chat room."""
