"""gRPC's interop test service and client, in Python, from the published descriptions.

gRPC defines the interop test cases every implementation must pass (the `grpc.testing`
TestService and the cases a client runs against it) and ships a reference client and
server per language. This package is Polychat's Python peer in that suite, on grpc.aio:

- `python -m pyinterop server --port=N [--use_tls=true --tls_cert_file=F --tls_key_file=F]`
  serves `grpc.testing.TestService` (`service.py`);
- `python -m pyinterop client --server_port=N --test_case=NAME [--use_tls=true ...]` runs
  one case (`cases.py`) and exits 0 when it passed, 1 when it failed (one line saying why).

`make interop-matrix` (tests/interop/matrix/) runs these and grpc-go's reference client and
server against each other, in plaintext and over TLS.

Flags follow the reference binaries' names (`--server_host`, `--use_tls`, ...) so that the
matrix starts every peer the same way.
"""
