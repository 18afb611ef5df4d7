from __future__ import annotations

from bench.polybench.targets import targets
from bench.polybench.tests.sample import fanout_entry, results, step


def _verdicts(res: dict) -> dict[str, bool | None]:
    return {t["target"].split(":")[0].split(" (")[0]: t["met"] for t in targets(res)}


def test_each_target_against_its_threshold() -> None:
    res = results()
    assert _verdicts(res) == {
        "chat fan-out at 1,000 clients": False,  # 298,000 < 300,000
        "Polychat ≥ 0.8 x baseline peak deliveries/s": True,
        "isolation": True,
        "≤ 30 KB server RSS per idle client": True,  # 20.0 KB at 1,000 clients
        "Python unary": False,  # 0.75 at the default level < 0.9
        "resilience": False,  # 2 lost, 1 duplicate through the cut
        "history on disk costs ≤ 10% of fan-out peak deliveries/s": True,
        "3 chat servers on NATS, 1,000 clients": False,  # 224,000 < 250,000
        "join": None,  # no 5,000-client run
        "chat fan-out at 5,000 clients": None,
        "overload": None,
        "ping-pong latency": None,
        "100,000 idle members on one server": True,  # 20.0 KB per member
    }
    python = next(t for t in targets(res) if t["target"].startswith("Python"))
    assert python["value"] == (
        "0.750 at the default level (a request log line per call), median of 3 paired rounds "
        "(0.70 to 0.80); 0.950 at --log-level warning"
    )


def test_targets_missed_and_not_measured() -> None:
    res = results()
    res["fanout"][0] = fanout_entry("baseline", 1000, [step(400_000, 400_000)])
    res["fanout"][1] = fanout_entry(
        "polychat", 1000, [step(300_000, 300_000, drops=2), step(400_000, 1, saturated_why="x")]
    )
    res["isolation"] = {"dps_change": 0.01, "p99_change": 0.2, "stuck_code": "OK",
                        "stuck_disconnected": True}  # fmt: skip
    res["memory"][1]["memory"] = None
    res["memory"][1]["error"] = "timed out after 150s"
    res["python"] = {}
    got = targets(res)
    # Drops below saturation miss the target however fast the step.
    assert got[0]["met"] is False
    assert got[0]["value"] == (
        "300,000/s sustained, p99 5.0 ms, drops below saturation 2 "
        "(baseline in this run: 400,000/s, p99 5.0 ms)"
    )
    assert got[1]["met"] is False  # 300,000 / 400,000 < 0.8
    assert got[2]["met"] is False  # p99 +20%
    assert (got[3]["value"], got[3]["met"]) == ("timed out after 150s", None)
    assert (got[4]["value"], got[4]["met"]) == ("—", None)


def test_targets_with_no_fanout_at_1000() -> None:
    res = results()
    res["fanout"] = []
    got = targets(res)
    assert (got[0]["value"], got[0]["met"]) == ("no step below saturation", None)
    assert (got[1]["value"], got[1]["met"]) == ("—", None)


def test_scale_targets() -> None:
    res = results()
    res["fanout"].append(
        {
            **fanout_entry(
                "polychat",
                5000,
                [step(200_000, 205_000, p99=80.0), step(400_000, 300_000, saturated_why="x")],
            ),
            "connect": {"seconds": 1.5, "notices": 5100},
        }
    )
    res["overload"] = {"dps": 280_000, "of_peak": 0.93, "disconnected": 0, "p99_ms": 400.0}
    res["latency"] = {
        "repeats": 3,
        "p50_ratio": 2.4,
        "polychat": {"p50_ms": 0.48, "p50_spread_ms": [0.4, 0.5]},
        "baseline": {"p50_ms": 0.2, "p50_spread_ms": [0.18, 0.21]},
    }
    v = _verdicts(res)
    assert v["join"] is True  # 1.5 s
    assert v["chat fan-out at 5,000 clients"] is True  # 205,000 at p99 80 ms
    assert v["overload"] is True
    assert v["ping-pong latency"] is False  # 2.4x
    res["overload"]["disconnected"] = 999
    assert _verdicts(res)["overload"] is False


def test_throughput_targets_show_the_same_runs_yardstick() -> None:
    got = {t["target"].split(":")[0]: t["value"] for t in targets(results())}
    assert got["3 chat servers on NATS, 1,000 clients"] == (
        "224,000/s sustained, p99 30.0 ms (one chat server in this run: 299,000/s, p99 5.0 ms)"
    )
    assert got["chat fan-out at 1,000 clients"].endswith(
        "(baseline in this run: 299,000/s, p99 5.0 ms)"
    )


def test_scale_members_target() -> None:
    res = results()
    row = next(t for t in targets(res) if t["target"].startswith("100,000"))
    assert row["value"] == ("100,000 members: RSS 1,982 MB, 20.0 KB per member, joined in 61.5 s")
    res["scale"]["memory"]["rss_per_client_kb"] = 20.1
    assert _verdicts(res)["100,000 idle members on one server"] is False
    res["scale"] = {"members": 100_000, "memory": None, "error": "timed out after 360s"}
    row = next(t for t in targets(res) if t["target"].startswith("100,000"))
    assert (row["value"], row["met"]) == ("timed out after 360s", None)
    del res["scale"]  # --quick
    row = next(t for t in targets(res) if t["target"].startswith("100,000"))
    assert row["met"] is None and row["value"].startswith("not run")


def test_memory_per_client_is_judged_at_20_kb_from_10000_clients() -> None:
    res = results()
    res["memory"].append(
        {"server": "polychat", "clients": 10_000, "memory": {"rss_per_client_kb": 20.5}}
    )
    res["memory"][1]["memory"]["rss_per_client_kb"] = 29.0
    rows = {t["target"]: t["met"] for t in targets(res) if "RSS per idle client" in t["target"]}
    assert rows == {
        "≤ 30 KB server RSS per idle client (1,000 clients)": True,
        "≤ 20 KB server RSS per idle client (10,000 clients)": False,
    }
