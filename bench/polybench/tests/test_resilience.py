from __future__ import annotations

from typing import Any

from bench.polybench.report import markdown
from bench.polybench.resilience import compare_durability, cpu_per_delivery, summarize_faults
from bench.polybench.targets import targets
from bench.polybench.tests.sample import results


def _run(lost: int, dup: int, p50: float, p99: float, **resume: int) -> dict[str, Any]:
    back = {"back": 100, "resumed": 100, "rejoined": 0, **resume}
    return {
        "sent": 150,
        "resent": 70,
        "expected_deliveries": 14_850,
        "delivered": 14_850 - lost + dup,
        "lost": lost,
        "duplicates": dup,
        "repeats_hidden": 3,
        "resume": {**back, "p50_ms": p50, "p99_ms": p99, "max_ms": p99 + 1},
        "notices": {"missed": 1} if lost else {},
    }


def test_faults_add_up_counts_and_take_medians_of_times() -> None:
    runs = [
        _run(0, 0, 1000.0, 1100.0),
        {"error": "12 of 100 clients not back after 1m0s (first: EOF)"},
        _run(2, 1, 1200.0, 1500.0, resumed=98, rejoined=2),
        _run(0, 0, 900.0, 1000.0),
    ]
    out = summarize_faults("restart", runs)
    assert out["runs"] == 4
    assert out["errors"] == ["12 of 100 clients not back after 1m0s (first: EOF)"]
    assert (out["sent"], out["resent"], out["lost"], out["duplicates"]) == (450, 210, 2, 1)
    assert (out["back"], out["resumed"], out["rejoined"]) == (300, 298, 2)
    assert out["repeats_hidden"] == 9
    assert (out["resume_p50_ms"], out["resume_p99_ms"], out["resume_max_ms"]) == (
        1000.0,
        1100.0,
        1101.0,
    )
    assert out["notices"] == {"missed": 1}
    assert "lost" not in summarize_faults("cut", [{"error": "timed out after 240s"}])


def test_durability_change_is_the_median_peak_against_memory() -> None:
    def run(kind: str, peak: float | None, cpu: float | None) -> dict[str, Any]:
        return {"kind": kind, "summary": {"peak_dps": peak}, "cpu_us_per_delivery": cpu}

    runs = [
        run("durable", 90_000, 5.0),
        run("memory", 100_000, 4.0),
        run("durable", 97_000, 4.4),
        run("memory", 98_000, 4.2),
        run("durable", 95_000, 4.6),
        run("memory", None, None),  # a run that failed is left out
    ]
    out = compare_durability(200, runs)
    assert out["durable"] == {
        "peak_dps_runs": [90_000, 97_000, 95_000],
        "peak_dps": 95_000,
        "cpu_us_per_delivery_runs": [5.0, 4.4, 4.6],
        "cpu_us_per_delivery": 4.6,
    }
    assert out["memory"]["peak_dps"] == 99_000
    assert out["memory"]["cpu_us_per_delivery"] == 4.1
    assert out["change"] == round(95_000 / 99_000 - 1, 4)
    assert out["cpu_change"] == round(4.6 / 4.1 - 1, 4)
    assert compare_durability(200, runs[:1])["change"] is None


def test_cpu_per_delivery_is_the_servers_cpu_time_over_what_it_delivered() -> None:
    step = {"deliveries_per_s": 50_000, "server": {"cpu_percent": 25.0}}
    assert cpu_per_delivery(step) == 5.0  # 0.25 CPU-seconds a second over 50,000 deliveries
    assert cpu_per_delivery({"deliveries_per_s": 50_000, "server": {}}) is None
    assert cpu_per_delivery({"deliveries_per_s": 0, "server": {"cpu_percent": 3.0}}) is None


def _target(res: dict[str, Any], start: str) -> dict[str, Any]:
    return next(t for t in targets(res) if t["target"].startswith(start))


def test_targets_zero_lost_and_duplicates_and_ten_percent() -> None:
    res = results()
    t = _target(res, "resilience")
    assert t["value"] == "restart: lost 0, duplicates 0; cut: lost 2, duplicates 1"
    assert t["met"] is False
    res["resilience"]["faults"][1].update(lost=0, duplicates=0)
    assert _target(res, "resilience")["met"] is True
    res["resilience"]["faults"][1] = {"fault": "cut", "runs": 1, "errors": ["timed out"]}
    t = _target(res, "resilience")
    assert t["value"] == "restart: lost 0, duplicates 0; cut: timed out"
    assert t["met"] is False  # a fault not measured is no pass
    d = _target(res, "history on disk")
    assert (d["value"], d["met"]) == ("-5.0%", True)
    res["resilience"]["durability"]["change"] = -0.12
    assert _target(res, "history on disk")["met"] is False
    del res["resilience"]
    assert not [
        t for t in targets(res) if t["target"].startswith(("resilience", "history on disk"))
    ]


def test_report_rows() -> None:
    md = markdown(results())
    assert "## Resilience (200 clients in one room, 5 senders at 5 messages/s each)" in md
    assert (
        "| server killed (-9) and started again | 3 | 540 | 230 | 0 | 0 | 600 (600 / 0) "
        "| 1,059 | 1,200 | 1,210 |  |"
    ) in md
    assert "| every connection cut once | 3 | 500 | 240 | 2 | 1 | 600 (598 / 2) |" in md
    assert "| durable | 95,000 | 95,000, 96,000, 90,000 | 4.40 | 4.40, 4.50, 4.30 |" in md
    assert "Change in peak throughput: -5.0%; in CPU per delivery: +10.0%." in md
    res = results()
    del res["resilience"]
    assert "## Resilience" not in markdown(res)
