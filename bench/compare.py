"""Alternate two chat server builds under the same loadgen sweeps; print medians.

    .venv/bin/python bench/compare.py --build main=/tmp/chat-main --build new=bin/chat-server \\
        --clients 10,1000 --rounds 3 [--fixed 150000,225000]
"""

from __future__ import annotations

import sys

from polybench.builds import main

if __name__ == "__main__":
    sys.exit(main())
