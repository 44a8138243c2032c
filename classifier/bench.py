"""Throughput: bare forward (images/s) against the whole prediction pipeline (cells/s)."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from classifier.checkpoint import save_checkpoint
from classifier.crops import ImageInput, PreparedCrop, crop_image, encode_crop
from classifier.data import CLASS_NAMES
from classifier.inference import Predictor, cpu_count, prepare_model, resolve_device
from classifier.model import create_model
from classifier.profiles import Profile, get_profile
from classifier.transforms import to_input


@dataclass
class BenchResult:
    profile: str
    architecture: str
    input_size: int
    rotations: int
    device: str
    threads: int
    workers: int
    batch_cells: int
    inputs: str  # "prepared": the crops the platform writes at upload; "original": decode each
    bare_images_per_s: float
    pipeline_cells_per_s: float
    ratio: float  # pipeline cells/s * rotations / bare images/s (target >= 0.85)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def bare_rate(
    model: torch.nn.Module, profile: Profile, batch: int, device: torch.device, seconds: float
) -> float:
    """Images/s of the model alone on a ready, normalised batch (no decoding, no rotation)."""
    x = to_input(
        torch.randint(
            0,
            255,
            (batch, 3, profile.input_size, profile.input_size),
            dtype=torch.uint8,
            device=device,
        ),
        profile,
    )
    if device.type == "cuda":
        x = x.contiguous(memory_format=torch.channels_last)
    return _timed(lambda: model(x), batch, device, seconds)


def _timed(step: Callable[[], object], items: int, device: torch.device, seconds: float) -> float:
    with torch.inference_mode():
        step()  # warm-up: kernel selection, allocator
        _sync(device)
        count, start = 0, time.perf_counter()
        while count == 0 or time.perf_counter() - start < seconds:
            step()
            count += 1
        _sync(device)
    return items * count / (time.perf_counter() - start)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _random_checkpoint(profile: Profile, folder: Path) -> Path:
    torch.manual_seed(0)
    model = create_model(profile)
    path = folder / f"{profile.name}.pt"
    save_checkpoint(
        path,
        {
            "model": model.state_dict(),
            "profile": profile.to_dict(),
            "class_names": list(CLASS_NAMES),
            "threshold": 0.5,
            "temperature": 1.0,
            "epoch": 0,
            "init": "random",
        },
    )
    return path


def prepared_inputs(
    images: Sequence[str | Path], profile: Profile, folder: Path
) -> list[PreparedCrop]:
    """Each image's model input as the platform writes it at upload (classifier.crops), as a
    file the pipeline then reads: one file per distinct image."""
    geometry = profile.crop_geometry
    made: dict[str, PreparedCrop] = {}
    for image in map(str, images):
        if image not in made:
            crop = crop_image(image, fraction=geometry.fraction, size=geometry.size, name=image)
            path = folder / f"{len(made)}.png"
            path.write_bytes(encode_crop(crop))
            made[image] = PreparedCrop(str(path))
    return [made[str(image)] for image in images]


def bench_profile(
    name: str,
    images: Sequence[str | Path],
    *,
    device: str = "auto",
    workers: int | None = None,
    seconds: float = 5.0,
    repeats: int = 3,
    inputs: str = "prepared",
) -> BenchResult:
    """Bare and pipeline rates of one profile (random weights: speed does not depend on them).
    The two are measured in turn `repeats` times and the best of each is kept, so a burst of
    load from other processes does not land on one side only. The pipeline reads the crops
    prepared at upload (`inputs="prepared"`, what the platform's workers do) or decodes the
    original images (`"original"`)."""
    profile = get_profile(name)
    with tempfile.TemporaryDirectory() as tmp:
        predictor = Predictor(_random_checkpoint(profile, Path(tmp)), device, num_workers=workers)
        if inputs == "prepared":
            sources: list[ImageInput] = list(prepared_inputs(images, profile, Path(tmp)))
        else:
            sources = list(images)
        return _bench(predictor, profile, sources, device, seconds, repeats, inputs)


def _bench(
    predictor: Predictor,
    profile: Profile,
    images: Sequence[ImageInput],
    device: str,
    seconds: float,
    repeats: int,
    inputs: str,
) -> BenchResult:
    dev = resolve_device(device)
    batch = predictor.batch_size * profile.rotations
    model = prepare_model(predictor.model, dev)
    predictor.predict(list(images[: predictor.batch_size]))  # warm-up
    bare, cells = 0.0, 0.0
    for _ in range(repeats):
        bare = max(bare, bare_rate(model, profile, batch, dev, seconds / repeats))
        start = time.perf_counter()
        predictor.predict(list(images))
        cells = max(cells, len(images) / (time.perf_counter() - start))
    return BenchResult(
        profile=profile.name,
        architecture=profile.architecture,
        input_size=profile.input_size,
        rotations=profile.rotations,
        device=str(dev),
        threads=torch.get_num_threads(),
        workers=predictor.workers_for(images),
        batch_cells=predictor.batch_size,
        inputs=inputs,
        bare_images_per_s=bare,
        pipeline_cells_per_s=cells,
        ratio=cells * profile.rotations / bare,
    )


def default_cells(profile: Profile, device: torch.device) -> int:
    """Enough cells for a few seconds of pipeline on this machine."""
    if device.type == "cuda":
        return 4096
    per_core = {"paper": 3, "fast": 24, "tiny": 128}.get(profile.name, 16)
    return per_core * max(1, cpu_count())
