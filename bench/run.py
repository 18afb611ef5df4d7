"""`make bench`: Polychat's benchmarks, each against a baseline measured in the same run.

Builds the chat server, bench/baseline and bench/loadgen, then on loopback:

1. chat fan-out sweeps: N = 10, 100, 1000, 5000 clients in one room, 10 publishers, the
   publish rate raised step by step until saturation, against Polychat and the grpc-go
   baseline (a fresh server per N);
2. isolation: the same load at 1000 clients with and without one client that never reads;
3. memory: server RSS per idle client at 1,000 and 10,000 clients;
4. Python services: ghz against UserService.GetUser and RandomService.StreamRandomNumbers of
   the real pyservices and of bench/pybaseline.py.

Writes bench/results/latest.json, latest.md and latency.png (raw loadgen and ghz output go to
bench/out/). Every process it starts is stopped at the end, also on failure or Ctrl+C.
The code is the package bench/polybench, one module a job.

    .venv/bin/python bench/run.py [--quick] [--ghz .bin/ghz]
"""

from __future__ import annotations

import sys

from polybench.cli import main

if __name__ == "__main__":
    sys.exit(main())
