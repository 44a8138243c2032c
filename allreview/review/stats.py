"""Proportions with a Wilson score interval: honest at small counts and near 0 or 1."""

from __future__ import annotations

import math
from dataclasses import dataclass

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class Proportion:
    successes: int
    total: int
    estimate: float | None  # None when there is nothing to count
    low: float | None
    high: float | None

    @property
    def percents(self) -> tuple[float, float, float] | None:
        """(estimate, low, high) in percent, for display."""
        if self.estimate is None or self.low is None or self.high is None:
            return None
        return (100 * self.estimate, 100 * self.low, 100 * self.high)


def wilson_interval(successes: int, total: int, z: float = Z_95) -> Proportion:
    if total <= 0:
        return Proportion(successes, 0, None, None, None)
    if not 0 <= successes <= total:
        raise ValueError(f"successes={successes} is outside 0..{total}")
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    # exact bounds at the ends, where rounding would leave 0.9999999999999999
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == total else min(1.0, centre + half)
    return Proportion(successes, total, p, low, high)
