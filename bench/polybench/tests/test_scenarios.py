from __future__ import annotations

import pytest

from bench.polybench.scenarios import (
    LADDER,
    compare_isolation,
    isolation_offered,
    join_estimate,
    overload_result,
    rates_for,
    summarize,
)
from bench.polybench.tests.sample import fanout_entry, step


def test_rates_spread_the_offered_load_over_the_receivers() -> None:
    assert rates_for(101, quick=True) == [500.0, 1500.0, 3000.0]
    full = rates_for(1000, quick=False)
    assert len(full) == len(LADDER)
    assert full[0] == round(25_000 / 999, 2)


def test_summary_keeps_peak_and_the_best_step_within_target() -> None:
    steps = [
        step(100_000, 99_000, drops=-2),
        step(150_000, 148_000, p99=60, drops=4),  # over the p99 target, not saturated
        step(225_000, 160_000, drops=30, saturated_why="delivered < 90%"),
    ]
    s = summarize(steps)
    assert s["peak_dps"] == 160_000
    assert s["peak_p99_ms"] == 5.0
    assert s["sustained_dps"] == 99_000
    assert s["sustained_step"] is steps[0]
    assert s["saturated_at"] == {"offered": 225_000, "why": "delivered < 90%"}
    # Negative drops (more delivered than expected at a step's edge) do not cancel others.
    assert s["drops_below_saturation"] == 4


def test_summary_of_no_steps_or_none_within_target() -> None:
    assert summarize([]) == {"peak_dps": None, "sustained_dps": None, "sustained_step": None}
    s = summarize([step(100_000, 50_000, saturated_why="p99")])
    assert s["sustained_dps"] is None
    assert s["saturated_at"] == {"offered": 100_000, "why": "p99"}


def test_join_estimate_scales_the_largest_room_so_far() -> None:
    small = fanout_entry("polychat", 10, [])
    assert join_estimate([small], "polychat", 1000) is None  # too small to go by
    big = fanout_entry("polychat", 1000, [])
    big["connect"] = {"notices": 499_500, "seconds": 10.0}
    other = fanout_entry("baseline", 1000, [])
    assert join_estimate([small, big, other], "polychat", 5000) == pytest.approx(
        1.5 * 5000 * 4999 / 2 / 49_950
    )
    assert join_estimate([small, other], "polychat", 5000) is None
    # A big room's joins summed up: 100 members told one by one (4,950 notices), then
    # summaries; the join phase grows linearly.
    big["connect"] = {"notices": 5_560, "seconds": 0.2}
    assert join_estimate([small, big, other], "polychat", 5000) == pytest.approx(1.5 * 0.2 * 5)


def test_isolation_sets_the_stuck_run_against_the_mean_of_the_others() -> None:
    def run(stuck: bool, dps: float, p99: float) -> dict:
        report = {"code": "RESOURCE_EXHAUSTED", "disconnected": True} if stuck else None
        steps = [step(1, dps - 10, p99=p99 - 1), step(1, dps + 10, p99=p99 + 1)]
        return {"stuck": stuck, "steps": steps, "report": report, "error": None}

    runs = [run(False, 100_000, 10.0), run(True, 95_000, 11.5), run(False, 90_000, 8.0)]
    out = compare_isolation(1000, 150_000, runs)
    assert out["without_dps"] == 95_000
    assert out["without_p99_ms"] == 9.0
    assert out["with_dps"] == 95_000
    assert out["dps_change"] == 0.0
    assert out["p99_change"] == round(11.5 / 9.0 - 1, 4)
    assert out["stuck_code"] == "RESOURCE_EXHAUSTED"
    assert out["stuck_disconnected"] is True
    assert "error" not in out


def test_isolation_with_a_run_that_did_not_finish() -> None:
    runs = [
        {"stuck": False, "steps": [step(1, 10)], "report": None, "error": None},
        {"stuck": True, "steps": [], "report": None, "error": "timed out after 180s"},
        {"stuck": False, "steps": [step(1, 10)], "report": None, "error": None},
    ]
    out = compare_isolation(1000, 150_000, runs)
    assert out["error"] == "a run did not finish"
    assert "dps_change" not in out


def test_isolation_load_is_half_the_peak_at_1000_clients() -> None:
    fan = [
        fanout_entry("baseline", 1000, [step(1, 900_000)]),
        fanout_entry("polychat", 1000, [step(1, 307_400)]),
    ]
    assert isolation_offered(fan) == 154_000
    fan[1] = fanout_entry("polychat", 1000, [step(1, 60_000)])
    assert isolation_offered(fan) == LADDER[1]  # never below the ladder's second step
    assert isolation_offered(fan[:1]) == LADDER[1]


def test_overload_counts_the_receivers_cut_off_in_every_window() -> None:
    first = step(600_000, 470_000) | {"disconnects": {"ResourceExhausted": 248}}
    second = step(600_000, 410_000) | {"disconnects": {}}
    out = overload_result(1000, 600_000, 400_000, {"steps": [first, second]})
    assert out["disconnected"] == 248
    assert out["dps"] == 440_000
    assert out["of_peak"] == 1.1
