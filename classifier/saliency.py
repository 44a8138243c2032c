"""Grad-CAM overlays through the maintained `grad-cam` package (no hand-written hooks)."""

from __future__ import annotations

import io
from typing import cast

import numpy as np
import torch
from PIL import Image
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.image import show_cam_on_image
from pytorch_grad_cam.utils.model_targets import BinaryClassifierOutputTarget
from torch import nn

from classifier.crops import ImageInput, PreparedCrop, open_image
from classifier.data import load_crop
from classifier.inference import Predictor
from classifier.transforms import to_input


def _target_layer(model: nn.Module, input_size: int) -> nn.Module:
    """Last block of the deepest stage whose map is at least 7 px wide: deep enough to carry
    the class signal, fine enough to point at part of a cell (layer4 of tiny is 2x2)."""
    for name, stride in (("layer4", 32), ("layer3", 16), ("layer2", 8)):
        if input_size / stride >= 7:
            return cast(nn.Sequential, getattr(model, name))[-1]
    return cast(nn.Sequential, model.layer1)[-1]


def _display_crop(image: Image.Image, fraction: float) -> Image.Image:
    width, height = image.size
    cw, ch = width * fraction, height * fraction
    box = (round((width - cw) / 2), round((height - ch) / 2))
    return image.crop((box[0], box[1], box[0] + round(cw), box[1] + round(ch)))


def saliency_map(
    predictor: Predictor, image: ImageInput, *, target: str | None = None
) -> tuple[np.ndarray, Image.Image]:
    """Grad-CAM heat map (H, W) in [0, 1] at the crop's source resolution, and that crop.
    `target` is the class explained ("all" or "hem"); the predicted class when None."""
    profile = predictor.profile
    fraction = profile.crop / profile.image_size
    name = str(image) if not isinstance(image, bytes | Image.Image) else "image"
    crop = load_crop(image, crop_fraction=fraction, size=profile.input_size, name=name)
    x = to_input(crop[None], profile).to(predictor.device)
    if target is None:
        target = predictor.predict([image])[0].label
    model = getattr(predictor.model, "_orig_mod", predictor.model)  # undo torch.compile
    with (
        torch.enable_grad(),
        GradCAM(model=model, target_layers=[_target_layer(model, profile.input_size)]) as cam,
    ):
        heat = cam(input_tensor=x, targets=[BinaryClassifierOutputTarget(int(target == "all"))])[0]
    original = image.source if isinstance(image, PreparedCrop) else image
    display = _display_crop(open_image(original, name), fraction)
    mask = Image.fromarray(heat.astype(np.float32), mode="F").resize(display.size)
    return np.clip(np.asarray(mask), 0.0, 1.0), display


def saliency_png(predictor: Predictor, image: ImageInput, *, target: str | None = None) -> bytes:
    """Grad-CAM overlay on the centre crop, as PNG bytes."""
    heat, display = saliency_map(predictor, image, target=target)
    rgb = np.asarray(display, dtype=np.float32) / 255.0
    overlay = show_cam_on_image(rgb, heat, use_rgb=True, image_weight=0.6)
    buffer = io.BytesIO()
    Image.fromarray(overlay).save(buffer, format="PNG")
    return buffer.getvalue()
