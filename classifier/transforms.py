"""Training augmentation, input normalisation and test-time rotations, all on tensors."""

from __future__ import annotations

import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from classifier.profiles import Profile

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def train_augmentation(profile: Profile) -> v2.Compose:
    """Flips and a random affine (rotation, translation) of the crop, black fill like the
    background, as in the paper's code (there on the 300-px crop, here on the resized crop)."""
    steps: list[v2.Transform] = []
    if profile.flips:
        steps += [v2.RandomHorizontalFlip(), v2.RandomVerticalFlip()]
    if profile.max_rotation or profile.max_translate:
        translate = (profile.max_translate, profile.max_translate)
        steps.append(v2.RandomAffine(degrees=profile.max_rotation / 2, translate=translate, fill=0))
    return v2.Compose(steps)


def to_input(batch: torch.Tensor, profile: Profile) -> torch.Tensor:
    """uint8 NCHW -> float in [0, 1], then ImageNet-normalised where the profile asks for it."""
    x = batch.float().div_(255.0)
    if profile.normalize:
        mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1)
        x = (x - mean) / std
    return x


def rotation_angles(rotations: int) -> list[float]:
    return [360.0 * i / rotations for i in range(rotations)]


def rotate_batch(x: torch.Tensor, rotations: int) -> torch.Tensor:
    """(N, C, H, W) -> (R, N, C, H, W): R evenly spaced rotations. Multiples of 90 degrees use
    exact rot90; the remainders are interpolated once and then turned by rot90."""
    base: dict[float, torch.Tensor] = {}
    out = []
    for angle in rotation_angles(rotations):
        quarter, rest = divmod(angle, 90.0)
        if rest not in base:
            # black (zero) fill matches the background once the raw pixels are 0;
            # we rotate before normalisation for that reason
            base[rest] = x if rest == 0 else TF.rotate(x, rest, fill=0.0)
        out.append(torch.rot90(base[rest], int(quarter), dims=(2, 3)))
    return torch.stack(out)
