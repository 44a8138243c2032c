from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from classifier.errors import InitError
from classifier.model import cadene_to_timm, create_model, load_init_weights
from classifier.profiles import get_profile

# timm names -> the names of Cadene's pretrained-models SENet (the inverse of our mapping)
TO_CADENE = (
    (re.compile(r"^conv1\."), "layer0.conv1."),
    (re.compile(r"^bn1\."), "layer0.bn1."),
    (re.compile(r"\.se\."), ".se_module."),
    (re.compile(r"^fc\."), "last_linear."),
)


def _as_cadene(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in state.items():
        if key.endswith("num_batches_tracked"):
            continue  # the 2017 file predates this buffer
        for pattern, replacement in TO_CADENE:
            key = pattern.sub(replacement, key)
        out[key] = value
    out["last_linear.weight"] = torch.randn(1000, 2048)  # an ImageNet head: must be skipped
    out["last_linear.bias"] = torch.randn(1000)
    return out


@pytest.fixture(scope="module")
def imagenet_like() -> dict[str, torch.Tensor]:
    torch.manual_seed(1)
    return create_model(get_profile("paper")).state_dict()


def test_cadene_names_map_to_timm_names(imagenet_like: dict[str, torch.Tensor]) -> None:
    mapped = cadene_to_timm(_as_cadene(imagenet_like))
    assert "layer1.0.se.fc1.weight" in mapped
    assert "conv1.weight" in mapped and "fc.weight" in mapped


def test_cadene_file_initialises_the_backbone_but_not_the_head(
    tmp_path: Path, imagenet_like: dict[str, torch.Tensor]
) -> None:
    path = tmp_path / "se_resnext50_32x4d-a260b3a4.pth"
    torch.save(_as_cadene(imagenet_like), path)
    torch.manual_seed(2)
    model = create_model(get_profile("paper"))
    head_before = model.fc.weight.clone()
    tag = load_init_weights(model, path)
    assert tag.startswith("imagenet:") and len(tag) == len("imagenet:") + 64
    state = model.state_dict()
    for key, value in imagenet_like.items():
        if not key.startswith("fc.") and not key.endswith("num_batches_tracked"):
            assert torch.equal(state[key], value), key
    assert torch.equal(model.fc.weight, head_before)


def test_timm_state_dict_initialises_too(tmp_path: Path) -> None:
    torch.manual_seed(3)
    source = create_model(get_profile("tiny"))
    path = tmp_path / "tiny.pth"
    torch.save({"state_dict": source.state_dict()}, path)
    target = create_model(get_profile("tiny"))
    load_init_weights(target, path)
    assert torch.equal(target.layer2[0].conv2.weight, source.layer2[0].conv2.weight)


def test_init_of_another_architecture_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tiny.pth"
    torch.save(create_model(get_profile("tiny")).state_dict(), path)
    with pytest.raises(InitError, match="tiny.pth.*(shape|missing)"):
        load_init_weights(create_model(get_profile("fast")), path)


def test_missing_init_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InitError, match="nope.pth: file not found"):
        load_init_weights(create_model(get_profile("tiny")), tmp_path / "nope.pth")
