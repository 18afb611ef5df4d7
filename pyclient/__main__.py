"""`python -m pyclient`: the same as `python pyclient/client.py`."""

import sys

from pyclient.client import run
from pykit.cli import quiet_grpc_core

quiet_grpc_core()
sys.exit(run())
