"""Polychat's benchmarks: the code behind `make bench` (entry point: bench/run.py).

- paths:     where the repository, raw output and results are
- processes: starting, waiting for and stopping the processes a run needs
- servers:   building the Go binaries and starting the chat server or its baseline
- scenarios: the chat benches (fan-out sweeps, isolation, memory) run with bench/loadgen
- resilience: clients through a kill -9 restart and a network cut, and what history on disk
  costs fan-out throughput (bench/resilience, bench/loadgen)
- ghz:       the Python services bench, ghz against pyservices and bench/pybaseline.py
- targets:   the targets a run is judged against
- machine:   what the run ran on
- report:    latest.md from the results
- plot:      latency.png from the results
- cli:       the command line, and the order a run goes in
"""
