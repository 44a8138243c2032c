"""One-file checkpoints (a plain dict saved by torch.save) and their validation."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classifier.errors import CheckpointError, ClassifierError, ProfileError
from classifier.profiles import PROFILES, Profile

if TYPE_CHECKING:
    import torch

FORMAT = "allreview-classifier/1"
REQUIRED_KEYS = ("format", "model", "profile", "class_names", "threshold", "temperature", "epoch")


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks so large checkpoints need little memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_state_dict(path: str | Path, error: type[ClassifierError]) -> dict[str, Any]:
    """Load a torch or safetensors file as a dict without running pickled code."""
    import torch  # here, not at module level: the web process hashes checkpoints but never loads one

    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: file not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            data = load_file(str(path))
        else:
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged file can fail in any layer of torch.load
        raise error(f"{path}: not a readable weights file ({_first_line(exc)})") from None
    if not isinstance(data, dict):
        raise error(f"{path}: expected a dict of weights, found {type(data).__name__}")
    return data


def _first_line(exc: BaseException) -> str:
    if "Weights only load failed" in str(exc):
        return "holds Python objects besides tensors; refused, as they could run code"
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> str:
    """Write atomically (temp file + rename): a crash never leaves half a model. Returns sha256."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": FORMAT, **payload}, tmp)
    os.replace(tmp, path)
    return file_sha256(path)


def load_checkpoint(path: str | Path, *, expected_profile: str | None = None) -> dict[str, Any]:
    """Load and validate a classifier checkpoint; CheckpointError says what is wrong with it."""
    path = Path(path)
    data = read_state_dict(path, CheckpointError)
    if data.get("format") != FORMAT:
        raise CheckpointError(
            f"{path}: not an AllReview classifier checkpoint (no '{FORMAT}' format tag); "
            "ImageNet weights go to --init, not --checkpoint"
        )
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise CheckpointError(f"{path}: checkpoint is incomplete, missing {missing}")
    profile = checkpoint_profile(path, data)
    if expected_profile is not None and profile.name != expected_profile:
        raise CheckpointError(
            f"{path}: checkpoint is of profile {profile.name!r} ({profile.architecture}), "
            f"expected {expected_profile!r}"
        )
    return data


def checkpoint_profile(path: Path, data: dict[str, Any]) -> Profile:
    """The profile stored in a checkpoint, checked against the built-in one of the same name."""
    try:
        profile = Profile.from_dict(data["profile"])
    except (ProfileError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"{path}: unreadable profile in checkpoint ({exc})") from None
    known = PROFILES.get(profile.name)
    if known is not None and known.architecture != profile.architecture:
        raise CheckpointError(
            f"{path}: profile {profile.name!r} should be {known.architecture}, "
            f"checkpoint holds {profile.architecture}"
        )
    return profile


def load_model_state(path: Path, model: torch.nn.Module, state: dict[str, Any], arch: str) -> None:
    """Load weights, turning a key/shape mismatch into a message about the architecture."""
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(
            f"{path}: weights do not fit architecture {arch} ({_first_line(exc)})"
        ) from None
