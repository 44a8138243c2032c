"""Samples from manifests or C-NMC folders, and decoding (splits live in classifier.splits)."""

from __future__ import annotations

import bisect
import csv
import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

# ImageInput, PreparedCrop and open_image live in classifier.crops (no torch); kept importable here
from classifier.crops import ImageInput, PreparedCrop, crop_image, open_image  # noqa: F401
from classifier.errors import ImageError, LabelError, ManifestError

CLASS_NAMES = ("hem", "all")  # index = target: 1 is the blast (positive) class
LABELS = frozenset(CLASS_NAMES)
IMAGE_EXTENSIONS = frozenset({".bmp", ".png", ".jpg", ".jpeg", ".tif", ".tiff"})
CNMC_NAME = re.compile(r"^UID_(?P<patient>H?\d+)_(?P<image>\d+)_(?P<cell>\d+)_(?P<label>all|hem)$")


@dataclass(frozen=True)
class Sample:
    path: str
    label: str  # "all" (blast) or "hem" (normal)
    patient: str

    @property
    def target(self) -> int:
        return CLASS_NAMES.index(self.label)


def _check_label(label: str, where: str) -> str:
    label = label.strip().lower()
    if label not in LABELS:
        raise LabelError(f"{where}: label {label!r} is not 'all' or 'hem'")
    return label


def samples_from_manifest(csv_path: str | Path) -> list[Sample]:
    """Rows `path,label,patient` (C-NMC's `file` column works too); relative paths are
    resolved against the manifest's folder."""
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise ManifestError(f"{csv_path}: manifest not found")
    with open(csv_path, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise ManifestError(f"{csv_path}: manifest has no rows")
    column = "path" if "path" in rows[0] else "file"
    needed = {column, "label", "patient"}
    if not needed <= set(rows[0]):
        raise ManifestError(f"{csv_path}: manifest needs columns path,label,patient")
    samples = [_manifest_sample(csv_path, i + 2, row, column) for i, row in enumerate(rows)]
    _check_exist(csv_path, samples)
    return samples


def _manifest_sample(csv_path: Path, line: int, row: dict[str, str], column: str) -> Sample:
    where = f"{csv_path}:{line}"
    label = _check_label(row["label"] or "", where)
    patient = (row["patient"] or "").strip()
    if not patient:
        raise ManifestError(f"{where}: empty patient")
    path = Path(row[column])
    return Sample(str(path if path.is_absolute() else csv_path.parent / path), label, patient)


def _check_exist(source: Path, samples: list[Sample]) -> None:
    missing = [s.path for s in samples if not Path(s.path).is_file()]
    if missing:
        raise ManifestError(f"{source}: {len(missing)} image files not found, e.g. {missing[0]}")


def samples_from_cnmc_folder(root: str | Path) -> list[Sample]:
    """C-NMC layout: `all/` and `hem/` (or `images/all`, `images/hem`), files named
    `UID_<patient>_<image>_<cell>_<label>.<ext>`."""
    root = Path(root)
    base = root / "images" if (root / "images").is_dir() else root
    folders = [base / label for label in ("all", "hem") if (base / label).is_dir()]
    if not folders:
        raise ManifestError(f"{root}: no all/ or hem/ folder (C-NMC layout)")
    samples = [_folder_sample(f) for d in folders for f in sorted(d.iterdir()) if _is_image(f)]
    if not samples:
        raise ManifestError(f"{root}: no images found")
    return samples


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS


def _folder_sample(path: Path) -> Sample:
    match = CNMC_NAME.match(path.stem)
    if match is None:
        raise ManifestError(
            f"{path}: name is not UID_<patient>_<image>_<cell>_<label>; use a manifest instead"
        )
    if match["label"] != path.parent.name:
        raise LabelError(f"{path}: name says {match['label']!r}, folder says {path.parent.name!r}")
    return Sample(str(path), match["label"], match["patient"])


class PatientBalancedSampler(torch.utils.data.Sampler[int]):
    """Indices drawn class first (uniformly over the classes present), then a patient of that
    class, then one of its cells: two large patients cannot dominate an epoch. A patient's chance
    within its class goes as its cell count to the power `power`: 0 (the default) draws a patient
    with one cell as often as one with three hundred, which repeats a handful of cells hundreds
    of times an epoch; 1 draws the class's cells uniformly (class-balanced only); 0.5 is between.
    An epoch has len(samples) draws."""

    def __init__(
        self, samples: Sequence[Sample], generator: torch.Generator, power: float = 0.0
    ) -> None:
        if not 0.0 <= power <= 1.0:
            raise ValueError(f"patient weight power must be in [0, 1], not {power}")
        self.generator = generator
        by_patient: dict[str, list[int]] = defaultdict(list)
        for i, sample in enumerate(samples):
            by_patient[sample.patient].append(i)
        majority = {p: Counter(samples[i].label for i in idx) for p, idx in by_patient.items()}
        self.classes = [
            [by_patient[p] for p in sorted(by_patient) if majority[p].most_common(1)[0][0] == c]
            for c in CLASS_NAMES
        ]
        self.classes = [c for c in self.classes if c]
        # cumulative patient weights per class, for inverse-CDF draws from one uniform number
        self.cumulative: list[list[float]] = []
        for patients in self.classes:
            weights = [len(cells) ** power for cells in patients]
            total, running = sum(weights), 0.0
            cumulative = []
            for w in weights:
                running += w / total
                cumulative.append(running)
            self.cumulative.append(cumulative)
        self.length = len(samples)

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[int]:
        draws = torch.rand(self.length, 3, generator=self.generator).tolist()
        for u_class, u_patient, u_cell in draws:
            k = int(u_class * len(self.classes))
            patients, cumulative = self.classes[k], self.cumulative[k]
            j = min(bisect.bisect_right(cumulative, u_patient), len(patients) - 1)
            cells = patients[j]
            yield cells[int(u_cell * len(cells))]


def pos_weight(samples: Sequence[Sample]) -> float:
    """BCE `pos_weight` as in the paper: normal/blast ratio of the training set."""
    counts = Counter(s.label for s in samples)
    if counts["all"] == 0 or counts["hem"] == 0:
        return 1.0
    return counts["hem"] / counts["all"]


def data_summary(samples: Sequence[Sample]) -> dict[str, Any]:
    """Counts per class and patient plus a hash of the (path, label) list, for the checkpoint."""
    listing = "\n".join(sorted(f"{Path(s.path).name},{s.label},{s.patient}" for s in samples))
    return {
        "images": len(samples),
        "per_class": dict(sorted(Counter(s.label for s in samples).items())),
        "per_patient": dict(sorted(Counter(s.patient for s in samples).items())),
        "patients": len({s.patient for s in samples}),
        "files_sha256": hashlib.sha256(listing.encode()).hexdigest(),
    }


def source_name(source: ImageInput, index: int) -> str:
    return str(source) if isinstance(source, str | Path) else f"image #{index}"


def load_crop(source: ImageInput, *, crop_fraction: float, size: int, name: str) -> torch.Tensor:
    """Centre crop (a fraction of the frame) resized to `size` (or a crop prepared at upload,
    as it is): uint8 CHW."""
    image = crop_image(source, fraction=crop_fraction, size=size, name=name)
    return torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)


def crop_fraction(profile_crop: int, profile_image_size: int) -> float:
    return profile_crop / profile_image_size


class CropDataset(torch.utils.data.Dataset[tuple[torch.Tensor, str]]):
    """Decoded, centre-cropped, resized uint8 crops; an unreadable image yields a blank crop and
    its error text, so the caller raises a clean ImageError instead of a worker traceback."""

    def __init__(self, sources: Sequence[ImageInput], *, fraction: float, size: int) -> None:
        self.sources = sources
        self.fraction = fraction
        self.size = size

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, str]:
        source = self.sources[index]
        try:
            name = source_name(source, index)
            return load_crop(source, crop_fraction=self.fraction, size=self.size, name=name), ""
        except ImageError as exc:
            return torch.zeros(3, self.size, self.size, dtype=torch.uint8), str(exc)


class TrainDataset(torch.utils.data.Dataset[tuple[torch.Tensor, float, str]]):
    """Training crops with augmentation; `preload` decodes every image once up front, which
    on a CPU saves the ~3 ms PNG decode per image per epoch."""

    def __init__(
        self,
        samples: Sequence[Sample],
        *,
        fraction: float,
        size: int,
        augment: torch.nn.Module | None,
        preload: bool,
    ) -> None:
        self.samples = list(samples)
        self.crops = CropDataset([s.path for s in self.samples], fraction=fraction, size=size)
        self.augment = augment
        self.cache = [self._checked(i) for i in range(len(self.samples))] if preload else None

    def _checked(self, index: int) -> torch.Tensor:
        crop, error = self.crops[index]
        if error:
            raise ImageError(error)
        return crop

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, float, str]:
        if self.cache is not None:
            crop, error = self.cache[index], ""
        else:
            crop, error = self.crops[index]
        if self.augment is not None and not error:
            crop = self.augment(crop)
        return crop, float(self.samples[index].target), error
