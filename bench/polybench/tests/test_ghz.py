from __future__ import annotations

from bench.polybench.ghz import mean_of, median_ratio, paired_ratios, summarize_ghz


def test_ghz_report_in_milliseconds_and_errors_by_code() -> None:
    rep = {
        "rps": 1234.56,
        "count": 6000,
        "average": 2_500_000,
        "latencyDistribution": [
            {"percentage": 50, "latency": 2_000_000},
            {"percentage": 99, "latency": 9_876_543},
        ],
        "statusCodeDistribution": {"OK": 5990, "Unavailable": 10},
    }
    assert summarize_ghz(rep) == {
        "rps": 1234.6,
        "count": 6000,
        "ok": 5990,
        "errors": {"Unavailable": 10},
        "avg_ms": 2.5,
        "p50_ms": 2.0,
        "p99_ms": 9.877,
    }
    assert summarize_ghz({"error": "timed out after 65s"}) == {"error": "timed out after 65s"}


def _round(rps: float, p99: float, errors: dict[str, int]) -> dict:
    return {
        "rps": rps,
        "avg_ms": 1.0,
        "p50_ms": 1.0,
        "p99_ms": p99,
        "count": 100,
        "ok": 100 - sum(errors.values()),
        "errors": errors,
    }


def test_mean_of_rounds_adds_up_errors_and_skips_failed_rounds() -> None:
    runs = [
        _round(1000.0, 4.0, {"Unavailable": 1}),
        {"error": "server exited with 1 before listening"},
        _round(1101.0, 5.0, {"Unavailable": 2, "Internal": 1}),
    ]
    out = mean_of(runs)
    assert out["rps"] == 1050.5
    assert out["p99_ms"] == 4.5
    assert out["rounds_rps"] == [1000.0, 1101.0]
    assert out["count"] == 200
    assert out["ok"] == 196
    assert out["errors"] == {"Unavailable": 3, "Internal": 1}


def test_mean_of_no_good_round_is_the_last_error() -> None:
    assert mean_of([{"error": "a"}, {"error": "b"}]) == {"error": "b"}
    assert mean_of([]) == {"error": "not run"}


def test_ratios_pair_each_round_with_the_baselines_and_skip_failed_rounds() -> None:
    runs = {
        "pybaseline": {
            "unary": [_round(3000.0, 1, {}), _round(2000.0, 1, {}), {"error": "x"}],
            "stream": [_round(0.0, 1, {})],
        },
        "pyservices": {"unary": [_round(2700.0, 1, {}), _round(1900.0, 1, {}), _round(9.0, 1, {})]},
        "pyservices-info": {"unary": [{"error": "timed out after 65s"}]},
    }
    assert paired_ratios(runs, "pyservices", "unary") == [0.9, 0.95]
    assert paired_ratios(runs, "pyservices", "stream") == []  # no baseline to divide by
    assert paired_ratios(runs, "pyservices-info", "unary") == []
    assert paired_ratios(runs, "pyservices-info", "stream") == []


def test_median_ratio_of_the_rounds() -> None:
    assert median_ratio([0.95, 0.8, 0.9]) == 0.9
    assert median_ratio([0.9, 0.95]) == 0.925
    assert median_ratio([]) is None
