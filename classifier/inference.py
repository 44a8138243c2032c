"""Batched prediction with the paper's test-time rotations, calibrated probabilities and spread."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from scipy.special import expit
from torch import nn

from classifier.checkpoint import file_sha256, load_checkpoint, load_model_state
from classifier.crops import ImageInput, PreparedCrop
from classifier.data import CLASS_NAMES, CropDataset
from classifier.errors import ImageError
from classifier.model import create_model
from classifier.profiles import Profile
from classifier.transforms import rotate_batch, to_input


@dataclass(frozen=True)
class CellPrediction:
    probability: float  # calibrated blast probability
    label: str  # "all" or "hem", by the checkpoint's threshold
    uncertainty: float  # std of the per-rotation blast probabilities


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def autocast(device: torch.device) -> contextlib.AbstractContextManager[object]:
    """bf16 autocast on CUDA; full precision on the CPU, where bf16 is rarely faster."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def prepare_model(model: nn.Module, device: torch.device) -> nn.Module:
    model = model.to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    return model


def rotation_logits(
    model: nn.Module, crops: torch.Tensor, profile: Profile, device: torch.device
) -> torch.Tensor:
    """Logits (N, R) of R rotations of each uint8 crop; rotated before normalisation so the
    fill equals the black background."""
    x = crops.to(device, non_blocking=True)
    stacked = rotate_batch(x, profile.rotations)  # (R, N, C, H, W)
    rotations, n = stacked.shape[:2]
    batch = to_input(stacked.flatten(0, 1), profile)
    if device.type == "cuda":
        batch = batch.contiguous(memory_format=torch.channels_last)
    with autocast(device):
        logits: torch.Tensor = model(batch).float().view(rotations, n)
    return logits.t()


def crop_loader(
    images: Sequence[ImageInput], profile: Profile, batch_size: int, num_workers: int, pin: bool
) -> torch.utils.data.DataLoader[tuple[torch.Tensor, str]]:
    dataset = CropDataset(
        images, fraction=profile.crop / profile.image_size, size=profile.input_size
    )
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        pin_memory=pin,
        persistent_workers=False,
        prefetch_factor=4 if num_workers else None,
    )


def iterate_crops(
    loader: torch.utils.data.DataLoader[tuple[torch.Tensor, str]],
) -> Iterator[torch.Tensor]:
    for crops, errors in loader:
        bad = [e for e in errors if e]
        if bad:
            raise ImageError(bad[0])
        yield crops


def predictions_from_logits(
    logits: np.ndarray, temperature: float, threshold: float
) -> list[CellPrediction]:
    """Average logits over rotations, then temperature-scale; spread of per-rotation probs."""
    logits = np.asarray(logits, dtype=np.float64)
    probability = expit(logits.mean(axis=1) / temperature)
    per_rotation = expit(logits / temperature)
    spread = per_rotation.std(axis=1)
    return [
        CellPrediction(float(p), "all" if p >= threshold else "hem", float(s))
        for p, s in zip(probability, spread, strict=True)
    ]


class Predictor:
    """A checkpoint loaded once, ready to classify cells in batches."""

    def __init__(
        self,
        checkpoint: str | Path,
        device: str = "auto",
        *,
        batch_size: int | None = None,
        num_workers: int | None = None,
        compile: bool = False,
        expected_profile: str | None = None,
    ) -> None:
        self.path = Path(checkpoint)
        data = load_checkpoint(self.path, expected_profile=expected_profile)
        self.profile = Profile.from_dict(data["profile"])
        self.device = resolve_device(device)
        self.threshold = float(data["threshold"])
        self.temperature = float(data["temperature"])
        self.sha256 = file_sha256(self.path)
        self.metadata = _metadata(data)
        model = create_model(self.profile)
        load_model_state(self.path, model, data["model"], self.profile.architecture)
        self.model: nn.Module = prepare_model(model, self.device).eval()
        if compile:
            self.model = cast(nn.Module, torch.compile(self.model))
        if self.device.type == "cpu":
            torch.set_num_threads(cpu_count())
        self.batch_size = batch_size or _default_batch(self.profile, self.device)
        self.num_workers = _default_workers(self.device) if num_workers is None else num_workers

    def logits(
        self,
        images: Sequence[ImageInput],
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Raw logits (N, rotations), before temperature scaling."""
        loader = crop_loader(
            images,
            self.profile,
            self.batch_size,
            self.workers_for(images),
            self.device.type == "cuda",
        )
        out: list[np.ndarray] = []
        done = 0
        with torch.inference_mode():
            for crops in iterate_crops(loader):
                out.append(
                    rotation_logits(self.model, crops, self.profile, self.device).cpu().numpy()
                )
                done += len(crops)
                if progress is not None:
                    progress(done, len(images))
        return np.concatenate(out) if out else np.zeros((0, self.profile.rotations))

    def workers_for(self, images: Sequence[ImageInput]) -> int:
        """DataLoader workers for these images: none on a CPU when every one is a crop prepared
        at upload, whose small PNG decodes inline in less time than a worker takes to ship it
        (and a decoding worker would compete with the compute threads for the same cores)."""
        if self.device.type == "cpu" and all(isinstance(i, PreparedCrop) for i in images):
            return 0
        return self.num_workers

    def predict(
        self,
        images: Sequence[ImageInput],
        progress: Callable[[int, int], None] | None = None,
    ) -> list[CellPrediction]:
        """One CellPrediction per image, in order; ImageError names an unreadable image."""
        return predictions_from_logits(
            self.logits(images, progress), self.temperature, self.threshold
        )


def _metadata(data: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "epoch",
        "class_names",
        "metrics",
        "data",
        "init",
        "temperature",
        "threshold",
        "created",
        "best_epoch",
        "val_data",
        "torch",
        "timm",
    )
    meta = {k: data[k] for k in keys if k in data}
    meta.setdefault("class_names", list(CLASS_NAMES))
    meta["profile"] = data["profile"]
    return meta


def _default_batch(profile: Profile, device: torch.device) -> int:
    if device.type == "cuda":
        return max(1, 1024 // profile.rotations)
    # keep one forward batch of all rotations around 32-64 images on the CPU
    return max(1, 48 // profile.rotations) if profile.input_size >= 200 else 16


def _default_workers(device: torch.device) -> int:
    if multiprocessing.current_process().daemon:
        return 0  # e.g. a Celery prefork child: daemonic processes may not start workers
    if device.type == "cuda":
        return min(8, cpu_count())
    return 1 if cpu_count() >= 2 else 0
