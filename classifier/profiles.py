"""Model profiles: a model's whole recipe as data, so variants are configurations, not forks."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from classifier.errors import ProfileError


@dataclass(frozen=True)
class Profile:
    """Architecture, input geometry, augmentation, optimisation and test-time rotations."""

    name: str
    architecture: str  # a timm model name
    image_size: int  # side of the source frame (C-NMC: 450)
    crop: int  # centre crop taken from the source frame, in source pixels
    input_size: int  # network input side after the crop has been resized
    rotations: int  # test-time rotations, evenly spaced over 360 degrees
    lr_stem: float  # stem and first stage
    lr_body: float  # stages 2-4
    lr_head: float  # classifier
    batch_size: int
    epochs: int
    lr_decay_epochs: tuple[int, ...] = (2, 4)
    lr_decay: float = 0.1
    flips: bool = True  # random horizontal and vertical flips
    max_rotation: float = 360.0  # random affine rotation range (degrees, symmetric span)
    max_translate: float = 0.2  # random affine translation, fraction of the crop
    normalize: bool = False  # ImageNet mean/std; the released paper code feeds plain [0, 1]
    weight_decay: float = 0.0
    drop_last: bool = True

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["lr_decay_epochs"] = list(self.lr_decay_epochs)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ProfileError(f"profile has unknown fields {unknown}")
        try:
            values = dict(data)
            values["lr_decay_epochs"] = tuple(values.get("lr_decay_epochs", (2, 4)))
            return cls(**values)
        except TypeError as exc:
            raise ProfileError(f"invalid profile description: {exc}") from exc


# Prellberg & Kramer, ISBI 2019 (arXiv:1903.09420), as in their released training code.
PAPER = Profile(
    name="paper",
    architecture="seresnext50_32x4d",
    image_size=450,
    crop=300,
    input_size=300,
    rotations=8,
    lr_stem=1e-6,
    lr_body=1e-4,
    lr_head=1e-2,
    lr_decay_epochs=(2, 4),
    lr_decay=0.1,
    batch_size=16,
    epochs=6,
    normalize=False,
)

# For CPU-only labs and from-scratch training: half the depth, a third of the pixels, 4 rotations
# (all exact 90-degree turns, so no interpolation at test time). Random init needs larger rates.
FAST = Profile(
    name="fast",
    architecture="seresnext26d_32x4d",
    image_size=450,
    crop=300,
    input_size=112,
    rotations=4,
    lr_stem=1e-3,
    lr_body=1e-3,
    lr_head=1e-3,
    lr_decay_epochs=(8, 11),
    lr_decay=0.1,
    batch_size=32,
    epochs=12,
    normalize=True,
    weight_decay=1e-4,
)

# Tests and the demo's starter model: a narrow SE-ResNeXt assembled from timm blocks (model.py).
TINY = Profile(
    name="tiny",
    architecture="allreview_seresnext_tiny",
    image_size=450,
    crop=300,
    input_size=64,
    rotations=4,
    lr_stem=3e-3,
    lr_body=3e-3,
    lr_head=3e-3,
    lr_decay_epochs=(6, 9),
    lr_decay=0.1,
    batch_size=32,
    epochs=10,
    normalize=True,
)

PROFILES: dict[str, Profile] = {p.name: p for p in (PAPER, FAST, TINY)}


def get_profile(name: str) -> Profile:
    """The profile called `name`; a ValueError naming the known ones otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ProfileError(f"unknown profile {name!r}; known profiles: {known}") from None
