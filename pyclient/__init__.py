"""Polychat's Python chat client: `python pyclient/client.py [username] [room] [server]`."""
