import pytest

from bench.stats import percentile, rate, summarize


def test_percentile_interpolates_between_ranks():
    values = [10.0, 20.0, 30.0, 40.0]
    assert percentile(values, 0) == 10.0
    assert percentile(values, 50) == 25.0
    assert percentile(values, 100) == 40.0
    assert percentile(values, 99) == pytest.approx(39.7)


def test_percentile_of_single_value_is_that_value():
    assert percentile([7.5], 99) == 7.5


def test_percentile_rejects_empty_and_out_of_range():
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summarize_sorts_and_converts_to_milliseconds():
    # 1..100 ms, shuffled order: summarize must sort before ranking.
    latencies = [i / 1000 for i in range(100, 0, -1)]
    result = summarize(latencies)
    assert set(result) == {"p50_ms", "p99_ms", "max_ms"}
    assert result["p50_ms"] == pytest.approx(50.5)
    assert result["p99_ms"] == pytest.approx(99.01)
    assert result["max_ms"] == pytest.approx(100.0)


def test_rate():
    assert rate(20000, 4.0) == 5000.0
    with pytest.raises(ValueError):
        rate(1, 0)
