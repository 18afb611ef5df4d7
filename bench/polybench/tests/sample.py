"""Small results, shaped as a run writes them, for the tests of the pure parts."""

from __future__ import annotations

from typing import Any

from bench.polybench.scenarios import fanout_result
from bench.polybench.targets import targets


def step(
    offered: float,
    dps: float,
    p50: float = 1.0,
    p99: float = 5.0,
    drops: int = 0,
    saturated_why: str = "",
) -> dict[str, Any]:
    """One loadgen step; it saturates when saturated_why says why."""
    return {
        "offered_deliveries_per_s": offered,
        "deliveries_per_s": dps,
        "latency": {"p50_ms": p50, "p99_ms": p99},
        "drops": drops,
        "saturated": bool(saturated_why),
        "saturated_why": saturated_why,
        "within_target": not saturated_why and p99 <= 50,
    }


def fanout_entry(server: str, clients: int, steps: list[dict[str, Any]]) -> dict[str, Any]:
    rep = {"conns": 1, "publishers": 10, "connect": {"notices": 45, "seconds": 0.5}}
    return fanout_result(server, clients, {**rep, "steps": steps})


def results() -> dict[str, Any]:
    """A whole run's results, every section measured."""
    res: dict[str, Any] = {
        "machine": {
            "command": "make bench",
            "date": "2026-01-02 03:04 UTC",
            "cpu": "Test CPU",
            "cores": 2,
            "memory_gib": 7.8,
            "kernel": "6.1",
            "go": "go1.25 linux/amd64",
            "grpc_go": "v1.75.0",
            "python": "3.11.9",
            "grpcio": "1.85.1",
            "load_average_start": [0.5, 0.4, 0.3],
            "load_average_end": [1.5, 1.0, 0.5],
        },
        "clients": [1000],
        "publishers": 10,
        "payload_bytes": 64,
        "chat_server_command": "chat-server -addr 127.0.0.1:PORT",
        "elapsed_s": 99.6,
        "fanout": [
            fanout_entry(
                "baseline",
                1000,
                [step(300_000, 299_000), step(400_000, 360_000, p99=80, saturated_why="p99")],
            ),
            fanout_entry(
                "polychat",
                1000,
                [
                    step(300_000, 298_000, p50=2.5, p99=12.25, drops=-3),
                    step(400_000, 306_000, p99=90, drops=7, saturated_why="delivered < 90%"),
                ],
            ),
        ],
        "isolation": {
            "clients": 1000,
            "offered_dps": 153_000,
            "runs": [],
            "without_dps": 150_000,
            "without_p99_ms": 10.0,
            "with_dps": 147_000,
            "with_p99_ms": 10.3,
            "dps_change": -0.02,
            "p99_change": 0.03,
            "stuck_code": "RESOURCE_EXHAUSTED",
            "stuck_disconnected": True,
        },
        "memory": [
            {"server": "baseline", "clients": 1000, "memory": {"rss_per_client_kb": 12.0}},
            {
                "server": "polychat",
                "clients": 1000,
                "memory": {"rss_before_kb": 9000, "rss_after_kb": 29000, "rss_per_client_kb": 20.0},
            },
        ],
        "scale": {
            "server": "polychat",
            "members": 100_000,
            "streams_per_conn": 1000,
            "memory": {
                "rss_before_kb": 30_000,
                "rss_after_kb": 2_030_000,
                "rss_per_client_kb": 20.0,
                "connect_seconds": 61.5,
            },
            "error": None,
        },
        "resilience": {
            "clients": 200,
            "senders": 5,
            "rate_per_sender": 5.0,
            "faults": [
                {
                    "fault": "restart",
                    "runs": 3,
                    "errors": [],
                    "sent": 540,
                    "resent": 230,
                    "lost": 0,
                    "duplicates": 0,
                    "back": 600,
                    "resumed": 600,
                    "rejoined": 0,
                    "resume_p50_ms": 1059.4,
                    "resume_p99_ms": 1200.2,
                    "resume_max_ms": 1210.0,
                },
                {
                    "fault": "cut",
                    "runs": 3,
                    "errors": [],
                    "sent": 500,
                    "resent": 240,
                    "lost": 2,
                    "duplicates": 1,
                    "back": 600,
                    "resumed": 598,
                    "rejoined": 2,
                    "resume_p50_ms": 420.0,
                    "resume_p99_ms": 540.9,
                    "resume_max_ms": 545.0,
                },
            ],
            "durability": {
                "clients": 200,
                "runs": [],
                "durable": {
                    "peak_dps_runs": [95_000, 96_000, 90_000],
                    "peak_dps": 95_000,
                    "cpu_us_per_delivery_runs": [4.4, 4.5, 4.3],
                    "cpu_us_per_delivery": 4.4,
                },
                "memory": {
                    "peak_dps_runs": [100_000, 99_000, 101_000],
                    "peak_dps": 100_000,
                    "cpu_us_per_delivery_runs": [4.0, 4.1, 4.0],
                    "cpu_us_per_delivery": 4.0,
                },
                "change": -0.05,
                "cpu_change": 0.1,
            },
        },
        "python": {
            "concurrency": 50,
            "seconds": 5,
            "rounds": 2,
            "server_cpus": [0],
            "ghz_cpus": [1],
            "pybaseline": {
                "unary": {"rps": 2000.0, "p50_ms": 20.0, "p99_ms": 40.0, "errors": {}},
                "stream": {"rps": 400.0, "p50_ms": 100.0, "p99_ms": 120.0, "errors": {}},
            },
            "pyservices": {
                "unary": {"rps": 1900.0, "p50_ms": 21.0, "p99_ms": 45.0, "errors": {}},
                "stream": {"rps": 390.0, "p50_ms": 101.0, "p99_ms": 125.0, "errors": {}},
            },
            "pyservices-info": {
                "unary": {"rps": 1500.0, "p50_ms": 30.0, "p99_ms": 60.0, "errors": {}},
            },
            "unary_ratio": 0.95,
            "stream_ratio": 0.975,
            "unary_info_ratio": 0.75,
            "unary_info_ratio_rounds": [0.8, 0.75, 0.7],
        },
        "notes": [],
        "cluster": {
            "one": {**fanout_entry("1-server", 1000, [step(300_000, 299_000)]), "servers": 1},
            "three": {
                **fanout_entry("3-servers", 1000, [step(225_000, 224_000, p99=30.0)]),
                "servers": 3,
            },
            "cross_node": {"rate": 100.0, "p50_ms": 0.8, "p99_ms": 2.5, "count": 300},
        },
    }
    res["targets"] = targets(res)
    return res
