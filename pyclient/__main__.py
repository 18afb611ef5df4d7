"""`python -m pyclient`: the same as `python pyclient/client.py`."""

import sys

from pyclient.client import run

sys.exit(run())
