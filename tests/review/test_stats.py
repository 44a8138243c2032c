from __future__ import annotations

import pytest

from allreview.review.stats import wilson_interval


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (5, 10, 0.2366, 0.7634),
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (81, 263, 0.2553, 0.3662),
    ],
)
def test_wilson_interval_matches_published_values(k, n, low, high):
    result = wilson_interval(k, n)
    assert result.low == pytest.approx(low, abs=1e-4)
    assert result.high == pytest.approx(high, abs=1e-4)
    assert result.low <= result.estimate <= result.high


def test_wilson_interval_of_nothing_is_empty_and_bad_counts_raise():
    assert wilson_interval(0, 0).estimate is None
    with pytest.raises(ValueError):
        wilson_interval(3, 2)
