"""Detection figures against ground truth: precision and recall at IoU 0.5, and mask IoU."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from smear.masks import Box, mask_iou


@dataclass(frozen=True)
class Outline:
    box: Box
    mask: np.ndarray  # bool, box-local


@dataclass(frozen=True)
class DetectionScore:
    truths: int
    detections: int
    matched: int
    mask_ious: tuple[float, ...]  # one per match

    @property
    def recall(self) -> float:
        return self.matched / self.truths if self.truths else 1.0

    @property
    def precision(self) -> float:
        return self.matched / self.detections if self.detections else 1.0

    @property
    def mean_mask_iou(self) -> float:
        return float(np.mean(self.mask_ious)) if self.mask_ious else 0.0

    def __add__(self, other: DetectionScore) -> DetectionScore:
        return DetectionScore(
            self.truths + other.truths,
            self.detections + other.detections,
            self.matched + other.matched,
            self.mask_ious + other.mask_ious,
        )


EMPTY = DetectionScore(0, 0, 0, ())


def matches(
    truths: Sequence[Outline], detections: Sequence[Outline], *, threshold: float = 0.5
) -> list[tuple[int, int, float]]:
    """Greedy one-to-one matching by mask IoU, best pairs first; (truth, detection, IoU) for
    the pairs at or above the threshold."""
    pairs: list[tuple[float, int, int]] = []
    for ti, truth in enumerate(truths):
        for di, detection in enumerate(detections):
            if truth.box.intersection(detection.box) == 0:
                continue
            iou = mask_iou(truth.mask, truth.box, detection.mask, detection.box)
            if iou >= threshold:
                pairs.append((iou, ti, di))
    used_t: set[int] = set()
    used_d: set[int] = set()
    out: list[tuple[int, int, float]] = []
    for iou, ti, di in sorted(pairs, reverse=True):
        if ti in used_t or di in used_d:
            continue
        used_t.add(ti)
        used_d.add(di)
        out.append((ti, di, iou))
    return out


def detection_score(
    truths: Sequence[Outline], detections: Sequence[Outline], *, threshold: float = 0.5
) -> DetectionScore:
    found = matches(truths, detections, threshold=threshold)
    return DetectionScore(len(truths), len(detections), len(found), tuple(i for _, _, i in found))
