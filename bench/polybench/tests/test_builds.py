from __future__ import annotations

from bench.polybench.builds import cpu_us, med


def test_cpu_per_delivery_and_medians() -> None:
    step = {"deliveries_per_s": 50_000, "server": {"cpu_percent": 60.0}}
    assert cpu_us(step) == 12.0  # 0.6 CPU-seconds a second over 50,000 deliveries
    assert cpu_us({"deliveries_per_s": 0, "server": {"cpu_percent": 5.0}}) is None
    assert cpu_us(None) is None
    assert med([3.0, None, 1.0, 2.0]) == 2.0
    assert med([None]) is None
