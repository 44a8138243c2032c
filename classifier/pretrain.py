"""Self-supervised pretraining of a profile's backbone on a lab's own unlabelled cells
(SimCLR, Chen et al. 2020): two augmented views of each cell should map close together and
away from the other cells of the batch. No ImageNet weights can be downloaded here; this
learns low-level filters from the cells a lab already has, and writes a file `--init` takes."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import timm
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from classifier.checkpoint import save_checkpoint
from classifier.crops import ImageInput
from classifier.data import CropDataset
from classifier.errors import ImageError, ManifestError
from classifier.inference import cpu_count, resolve_device
from classifier.profiles import Profile, get_profile
from classifier.transforms import to_input, train_augmentation

INIT_KIND = "ssl-simclr"


@dataclass
class PretrainConfig:
    profile: str
    images: Sequence[ImageInput]
    output: Path  # the weights file to write
    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    temperature: float = 0.2  # NT-Xent
    jitter: float = 2.0  # stain/colour jitter strength of the views (the profile's, doubled)
    seed: int = 0
    threads: int | None = None
    device: str = "auto"
    progress: bool = False


@dataclass
class PretrainResult:
    output: Path
    sha256: str
    losses: list[float]  # mean loss per epoch
    images: int
    seconds: float


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """The SimCLR loss: for each of the 2N views, cross-entropy of picking its partner among the
    other 2N - 1 by cosine similarity / temperature."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = z1.shape[0]
    sim = z @ z.t() / temperature
    sim.fill_diagonal_(float("-inf"))
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(sim, partner)


class _Views:
    def __init__(self, profile: Profile, jitter: float) -> None:
        self.profile = dataclasses.replace(
            profile,
            stain_jitter=jitter,
            color_jitter=jitter,
            blur=0.3,
            max_scale=max(profile.max_scale, 0.2),
        )
        self.geometry = train_augmentation(self.profile)

    def __call__(self, crops: torch.Tensor, device: torch.device) -> torch.Tensor:
        moved = torch.stack([self.geometry(c) for c in crops]).to(device)
        return to_input(moved, self.profile, jitter=True)


def _crops(images: Sequence[ImageInput], profile: Profile) -> torch.Tensor:
    dataset = CropDataset(
        images, fraction=profile.crop / profile.image_size, size=profile.input_size
    )
    crops = []
    for index in range(len(dataset)):
        crop, error = dataset[index]
        if error:
            raise ImageError(error)
        crops.append(crop)
    return torch.stack(crops)


def main(
    config: PretrainConfig, on_epoch: Callable[[int, float], None] | None = None
) -> PretrainResult:
    """Pretrain and write {"model": backbone weights, "init_kind": "ssl-simclr", ...}."""
    if len(config.images) < 2:
        raise ManifestError("pretraining needs at least two cell images")
    profile = get_profile(config.profile)
    device = resolve_device(config.device)
    if device.type == "cpu":
        torch.set_num_threads(config.threads or cpu_count())
    torch.manual_seed(config.seed)
    started = time.perf_counter()
    crops = _crops(config.images, profile)
    backbone = timm.create_model(profile.architecture, pretrained=False, num_classes=0).to(device)
    width = int(cast(Any, backbone).num_features)
    head = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 64)).to(device)
    params = [*backbone.parameters(), *head.parameters()]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=1e-4)
    views = _Views(profile, config.jitter)
    batch = min(config.batch_size, len(crops))
    losses = []
    for epoch in tqdm(range(config.epochs), desc="pretrain", disable=not config.progress):
        backbone.train()
        head.train()
        order = torch.randperm(len(crops))
        total, steps = 0.0, 0
        for start in range(0, len(order) - batch + 1, batch):
            chunk = crops[order[start : start + batch]]
            loss = nt_xent(
                head(backbone(views(chunk, device))),
                head(backbone(views(chunk, device))),
                config.temperature,
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]  # torch leaves it unannotated
            optimizer.step()
            total, steps = total + float(loss.detach()), steps + 1
        losses.append(total / max(steps, 1))
        if on_epoch is not None:
            on_epoch(epoch + 1, losses[-1])
    sha = save_checkpoint(
        config.output,
        {
            "model": backbone.state_dict(),
            "init_kind": INIT_KIND,
            "profile": profile.to_dict(),
            "epochs": config.epochs,
            "images": len(crops),
            "losses": losses,
        },
    )
    return PretrainResult(config.output, sha, losses, len(crops), time.perf_counter() - started)
