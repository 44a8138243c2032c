"""Figures of the segmentation: detection quality on generated fields, and its time against the
bare decode of the same field on one core."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from smear.generate import FieldConfig, field_generate, sources_from_cnmc
from smear.io import decode_rgb, jpeg_bytes
from smear.metrics import EMPTY, DetectionScore, Outline, detection_score
from smear.segment import SegmentConfig, segment_field


@dataclass(frozen=True)
class SpeedFigures:
    width: int
    height: int
    decode_s: float  # median over repeats
    segment_s: float  # segmentation alone, median
    repeats: int

    @property
    def ratio(self) -> float:
        return self.segment_s / self.decode_s if self.decode_s else float("inf")


def one_core() -> None:
    """Pin this process to one CPU, as the target says ("on one core")."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def detection_figures(
    data: Path, seeds: Iterable[int], *, field: FieldConfig, segment: SegmentConfig
) -> DetectionScore:
    sources = sources_from_cnmc(data)
    total = EMPTY
    for seed in seeds:
        generated = field_generate(sources, field, seed=seed)
        rgb = decode_rgb(jpeg_bytes(generated.image))  # as a lab's camera would send it
        found = segment_field(rgb, segment)
        total = total + detection_score(
            [Outline(c.box, c.mask) for c in generated.cells],
            [Outline(d.box, d.mask) for d in found],
        )
    return total


def speed_figures(
    data: Path, *, seed: int, repeats: int, field: FieldConfig, segment: SegmentConfig
) -> SpeedFigures:
    encoded = jpeg_bytes(field_generate(sources_from_cnmc(data), field, seed=seed).image)
    decode_times: list[float] = []
    segment_times: list[float] = []
    for _ in range(repeats):
        start = time.perf_counter()
        rgb = decode_rgb(encoded)
        decoded = time.perf_counter()
        segment_field(rgb, segment)
        decode_times.append(decoded - start)
        segment_times.append(time.perf_counter() - decoded)
    return SpeedFigures(
        field.width,
        field.height,
        statistics.median(decode_times),
        statistics.median(segment_times),
        repeats,
    )
