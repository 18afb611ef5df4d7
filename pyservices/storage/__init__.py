"""Storage for the services: file names, files on disk, SQLite.

- `names`: checks a client-supplied file name (never rewrites it).
- `atomic`: writes a file atomically into one folder, never following symlinks.
- `status`: the gRPC status for a file that could not be stored (file and streaming).
- `intervals`: turns a `google.protobuf.Duration` into a checked interval.
- `sqlite`: keeps a service's data in SQLite (one writer thread, durable commits), and
  reports its failures as StoreFailure.
"""
