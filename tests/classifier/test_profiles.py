from __future__ import annotations

import dataclasses

import pytest
import torch

from classifier.errors import ProfileError
from classifier.model import create_model, parameter_groups
from classifier.profiles import PROFILES, Profile, get_profile


def test_paper_profile_is_the_published_method() -> None:
    expected = {
        "name": "paper",
        "architecture": "seresnext50_32x4d",
        "image_size": 450,
        "crop": 300,
        "input_size": 300,
        "rotations": 8,
        "lr_stem": 1e-6,
        "lr_body": 1e-4,
        "lr_head": 1e-2,
        "batch_size": 16,
        "epochs": 6,
        "lr_decay_epochs": (2, 4),
        "lr_decay": 0.1,
        "flips": True,
        "max_rotation": 360.0,
        "max_translate": 0.2,
        "normalize": False,
        "weight_decay": 0.0,
        "drop_last": True,
    }
    paper = dataclasses.asdict(get_profile("paper"))
    assert {k: paper[k] for k in expected} == expected
    # the cross-patient options stay off, and the paper's logit-0 rule and ImageNet start hold
    defaults = {f.name: f.default for f in dataclasses.fields(Profile) if f.name not in expected}
    assert {k: paper[k] for k in defaults if k not in {"threshold_objective", "requires_init"}} == {
        k: v for k, v in defaults.items() if k not in {"threshold_objective", "requires_init"}
    }
    assert paper["threshold_objective"] == "logit0" and paper["requires_init"] is True


def test_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="fast, paper, tiny"):
        get_profile("huge")


def test_profile_survives_a_dict_round_trip() -> None:
    for profile in PROFILES.values():
        assert Profile.from_dict(profile.to_dict()) == profile


def test_profile_from_dict_rejects_unknown_fields() -> None:
    with pytest.raises(ProfileError, match="unknown fields"):
        Profile.from_dict({**PROFILES["tiny"].to_dict(), "colour": "red"})


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_profile_forwards_a_tiny_input(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(get_profile(name)).eval()
    with torch.inference_mode():
        out = model(torch.rand(1, 3, 64, 64))
    assert out.shape == (1, 1)
    assert torch.isfinite(out).all()


def test_parameter_groups_follow_the_paper_split() -> None:
    profile = get_profile("paper")
    model = create_model(profile)
    groups = {g["name"]: g for g in parameter_groups(model, profile)}
    assert [groups[k]["lr"] for k in ("stem", "body", "head")] == [1e-6, 1e-4, 1e-2]
    ids = {k: {id(p) for p in g["params"]} for k, g in groups.items()}
    assert ids["head"] == {id(p) for p in model.fc.parameters()}
    assert {id(p) for p in model.layer1.parameters()} <= ids["stem"]
    assert {id(p) for p in model.conv1.parameters()} <= ids["stem"]
    assert {id(p) for p in model.layer3.parameters()} <= ids["body"]
    assert sum(len(v) for v in ids.values()) == len(list(model.parameters()))
