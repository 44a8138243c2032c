"""Model factory on timm, learning-rate groups, and ImageNet initialisation from a local file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, cast

import timm
import torch
from timm.models import register_model
from timm.models.resnet import Bottleneck, ResNet
from torch import nn

from classifier.checkpoint import file_sha256, read_state_dict
from classifier.errors import InitError, ProfileError
from classifier.profiles import Profile


@register_model
def allreview_seresnext_tiny(pretrained: bool = False, **kwargs: Any) -> ResNet:
    """A narrow SE-ResNeXt (one SE bottleneck per stage, cardinality 4) built from timm blocks."""
    for key in ("pretrained_cfg", "pretrained_cfg_overlay", "cache_dir"):
        kwargs.pop(key, None)
    args: dict[str, Any] = dict(
        block=Bottleneck,
        layers=(1, 1, 1, 1),
        channels=(16, 32, 64, 128),
        stem_width=16,
        cardinality=4,
        base_width=16,
        block_args=dict(attn_layer="se"),
    )
    return ResNet(**{**args, **kwargs})


def create_model(profile: Profile, *, pretrained: bool = False) -> nn.Module:
    """The profile's network with one output logit (blast); never downloads weights."""
    if pretrained:
        raise ProfileError("weights are never downloaded; pass a local file as --init instead")
    try:
        return timm.create_model(profile.architecture, pretrained=False, num_classes=1)
    except RuntimeError as exc:  # timm's "unknown model"
        raise ProfileError(f"profile {profile.name!r}: {exc}") from exc


def parameter_groups(model: nn.Module, profile: Profile) -> list[dict[str, Any]]:
    """Three Adam groups as in the paper: stem + stage 1, stages 2-4, head."""
    head_ids = {id(p) for p in classifier_head(model).parameters()}
    groups: dict[str, list[nn.Parameter]] = {"stem": [], "body": [], "head": []}
    for name, param in model.named_parameters():
        if id(param) in head_ids:
            groups["head"].append(param)
        elif re.match(r"layer[234]\.", name):
            groups["body"].append(param)
        else:
            groups["stem"].append(param)
    rates = {"stem": profile.lr_stem, "body": profile.lr_body, "head": profile.lr_head}
    return [{"params": groups[k], "lr": rates[k], "name": k} for k in ("stem", "body", "head")]


# Cadene's pretrained-models SENet names -> timm ResNet names.
_CADENE_RULES = (
    (re.compile(r"^layer0\.conv1\."), "conv1."),
    (re.compile(r"^layer0\.bn1\."), "bn1."),
    (re.compile(r"\.se_module\."), ".se."),
    (re.compile(r"^last_linear\."), "fc."),
)


def cadene_to_timm(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename a pretrained-models `se_resnext50_32x4d` state dict into timm's key names."""
    renamed = {}
    for key, value in state.items():
        for pattern, replacement in _CADENE_RULES:
            key = pattern.sub(replacement, key)
        renamed[key] = value
    return renamed


def _unwrap(state: dict[str, Any]) -> dict[str, torch.Tensor]:
    for key in ("state_dict", "model"):
        if key in state and isinstance(state[key], dict):
            state = state[key]
    return {k.removeprefix("module."): v for k, v in state.items() if isinstance(v, torch.Tensor)}


def init_state_dict(path: Path, model: nn.Module) -> dict[str, torch.Tensor]:
    """The backbone weights of `path` in the model's key names, head excluded, checked for fit."""
    state = _unwrap(read_state_dict(path, InitError))
    if any(k.startswith("layer0.") for k in state):
        state = cadene_to_timm(state)
    head = {f"{n}." for n, _ in _classifier_names(model)}
    state = {k: v for k, v in state.items() if not any(k.startswith(h) for h in head)}
    _check_fit(path, model, state, head)
    return state


def classifier_head(model: nn.Module) -> nn.Module:
    """The network's last layer, as timm's models name it."""
    head: nn.Module = cast(Any, model).get_classifier()
    return head


def _classifier_names(model: nn.Module) -> list[tuple[str, nn.Module]]:
    classifier = classifier_head(model)
    return [(n, m) for n, m in model.named_modules() if m is classifier and n]


def _check_fit(
    path: Path, model: nn.Module, state: dict[str, torch.Tensor], head: set[str]
) -> None:
    expected = {
        k: v
        for k, v in model.state_dict().items()
        if not k.endswith("num_batches_tracked") and not any(k.startswith(h) for h in head)
    }
    missing = sorted(set(expected) - set(state))
    if missing:
        raise InitError(
            f"{path}: does not fit this architecture: {len(missing)} weights missing "
            f"(e.g. {', '.join(missing[:3])})"
        )
    for key, tensor in expected.items():
        if state[key].shape != tensor.shape:
            raise InitError(
                f"{path}: weight {key} has shape {tuple(state[key].shape)}, "
                f"the model needs {tuple(tensor.shape)}"
            )


def load_init_weights(model: nn.Module, path: str | Path) -> str:
    """Initialise the backbone from a local file: ImageNet weights ('imagenet:<sha256>') or a
    backbone that `python -m classifier pretrain` learnt from a lab's cells ('ssl-simclr:...')."""
    path = Path(path)
    state = init_state_dict(path, model)
    model.load_state_dict(state, strict=False)
    kind = read_state_dict(path, InitError).get("init_kind", "imagenet")
    return f"{kind if isinstance(kind, str) else 'imagenet'}:{file_sha256(path)}"
