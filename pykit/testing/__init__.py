"""Test helpers for the clients' and the services' tests.

- `ports`: a free loopback port for a child process to listen on.
- `processes`: running `python -m MODULE` as a child process and reading its output.
- `polling`: waiting, within a bound, for a condition.
- `pki`: a throwaway CA with server and client certificates (and pytest fixtures for them).
"""
