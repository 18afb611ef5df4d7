"""Safe helpers shared by the file, random and streaming services and their clients.

- `names`: checks a client-supplied file name (never rewrites it).
- `atomic`: writes a file atomically into one folder, never following symlinks.
- `intervals`: turns a `google.protobuf.Duration` into a checked interval.
- `terminal`: makes network text safe to print and formats RPC errors.
"""
