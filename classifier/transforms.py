"""Training augmentation, input normalisation and test-time rotations, all on tensors."""

from __future__ import annotations

import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from classifier.profiles import Profile

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def train_augmentation(profile: Profile) -> v2.Compose:
    """Flips and a random affine (rotation, translation, scale) of the crop, black fill like the
    background, as in the paper's code (there on the 300-px crop, here on the resized crop).
    Stain and colour jitter run on whole batches (stain_color_jitter)."""
    steps: list[torch.nn.Module] = []
    if profile.flips:
        steps += [v2.RandomHorizontalFlip(), v2.RandomVerticalFlip()]
    if profile.max_rotation or profile.max_translate or profile.max_scale:
        translate = (profile.max_translate, profile.max_translate)
        scale = (1 - profile.max_scale, 1 + profile.max_scale) if profile.max_scale else None
        steps.append(
            v2.RandomAffine(
                degrees=profile.max_rotation / 2, translate=translate, scale=scale, fill=0
            )
        )
    return v2.Compose(steps)


# Ruifrok & Johnston's stain vectors (haematoxylin, eosin, DAB) as rows of optical density, the
# matrix scikit-image's rgb2hed inverts.
RGB_FROM_HED = torch.tensor(
    [[0.65, 0.70, 0.29], [0.07, 0.99, 0.11], [0.27, 0.57, 0.78]], dtype=torch.float32
)
HED_FROM_RGB = torch.linalg.inv(RGB_FROM_HED)
BACKGROUND_LEVEL = 8  # uint8 value under which a pixel (all channels) is the black background


def stain_color_jitter(x: torch.Tensor, profile: Profile) -> torch.Tensor:
    """Stain and colour variation between labs and patients, on a float NCHW batch in [0, 1],
    each cell with its own draw, all in a few batched tensor operations (cheap on a CPU, and
    on the GPU when training there): each stain's amount scaled and shifted in HED optical
    density (Tellez et al. 2018), then brightness, contrast, saturation and gamma, and for a
    share of the cells a mild blur. The black background stays black, so the outline of the
    cell never changes."""
    n, device = x.shape[0], x.device
    mask = (x > BACKGROUND_LEVEL / 255.0).any(dim=1, keepdim=True)

    def draw(spread: float, *shape: int) -> torch.Tensor:
        return (torch.rand(n, *shape, device=device) * 2 - 1) * spread

    if profile.stain_jitter:
        s = profile.stain_jitter
        od = -torch.log(x.clamp_min(1.0 / 255.0))
        hed = torch.einsum("nchw,cd->ndhw", od, HED_FROM_RGB.to(device))
        hed = hed * (1 + draw(0.1 * s, 3, 1, 1)) + draw(0.02 * s, 3, 1, 1)
        x = torch.exp(-torch.einsum("ndhw,dc->nchw", hed, RGB_FROM_HED.to(device)).clamp_min(0))
    if profile.color_jitter:
        s = profile.color_jitter
        x = x * (1 + draw(0.15 * s, 1, 1, 1))  # brightness
        grey = x.mean(dim=1, keepdim=True)
        cell_mean = (grey * mask).sum((2, 3), keepdim=True) / mask.sum(
            (2, 3), keepdim=True
        ).clamp_min(1)
        x = (x - cell_mean) * (1 + draw(0.15 * s, 1, 1, 1)) + cell_mean  # contrast
        grey = x.mean(dim=1, keepdim=True)
        x = (x - grey) * (1 + draw(0.25 * s, 1, 1, 1)) + grey  # saturation
        x = x.clamp(0, 1) ** torch.exp(draw(0.15 * s, 1, 1, 1))  # gamma
    if profile.blur:
        kernel = torch.tensor([1.0, 2.0, 1.0], device=device)
        kernel = (kernel[:, None] * kernel[None, :] / 16).expand(x.shape[1], 1, 3, 3)
        blurred = torch.nn.functional.conv2d(x, kernel, padding=1, groups=x.shape[1])
        chosen = (torch.rand(n, 1, 1, 1, device=device) < profile.blur).float()
        x = chosen * blurred + (1 - chosen) * x
    return x.clamp(0.0, 1.0) * mask


CELL_TARGET_MEAN = 0.5
CELL_TARGET_STD = 0.15


def standardize_cells(x: torch.Tensor) -> torch.Tensor:
    """Each cell's foreground (the non-black pixels), channel by channel, shifted and scaled to
    one mean and spread (Reinhard-style, in RGB): what is left is the cell's structure and the
    colour differences inside it, not its patient's stain strength or hue. Background stays 0."""
    mask = (x > BACKGROUND_LEVEL / 255.0).any(dim=1, keepdim=True).float()
    count = mask.sum((2, 3), keepdim=True).clamp_min(1)
    mean = (x * mask).sum((2, 3), keepdim=True) / count
    var = (((x - mean) * mask) ** 2).sum((2, 3), keepdim=True) / count
    scaled = (x - mean) / var.sqrt().clamp_min(0.02) * CELL_TARGET_STD + CELL_TARGET_MEAN
    return scaled.clamp(0.0, 1.0) * mask


def to_input(batch: torch.Tensor, profile: Profile, *, jitter: bool = False) -> torch.Tensor:
    """uint8 NCHW -> float in [0, 1], stain/colour-jittered when training asks for it, then
    ImageNet-normalised where the profile asks for it."""
    x = batch.float().div_(255.0)
    if jitter and (profile.stain_jitter or profile.color_jitter or profile.blur):
        x = stain_color_jitter(x, profile)
    if profile.cell_standardize:
        x = standardize_cells(x)
    if profile.grayscale:
        x = x.mean(dim=1, keepdim=True).expand(-1, 3, -1, -1).contiguous()
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
