"""What Polychat's Python clients and services share: channels and TLS, the command-line
conventions, the one text neutraliser, the chat wire names, and test helpers.

`pyclient` and `pyservices` depend on this package and never on each other. Importing it
changes nothing in the process: entry points set up gRPC's logging themselves (`pykit.cli`).
"""
