"""Reading image folders for import: the C-NMC layout (one case per patient) or a plain folder."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

# UID_<patient>_<image>_<cell>_<label>.<ext>, e.g. UID_51_1_1_all.bmp or UID_H10_3_2_hem.png
CNMC_NAME = re.compile(r"^UID_(?P<patient>H?\d+)_(?P<image>\d+)_(?P<cell>\d+)_(?P<label>[a-z]+)$")
CLASS_FOLDERS = ("all", "hem")


@dataclass
class FolderCase:
    patient_code: str
    files: list[tuple[Path, str]] = field(default_factory=list)  # (path, truth label or "")


@dataclass(frozen=True)
class FolderProblem:
    path: str
    reason: str


def _class_root(root: Path) -> Path | None:
    """The folder holding all/ and hem/: the root itself or root/images (the shared copy's layout)."""
    for candidate in (root, root / "images"):
        if any((candidate / name).is_dir() for name in CLASS_FOLDERS):
            return candidate
    return None


def read_cnmc_layout(root: Path) -> tuple[list[FolderCase], list[FolderProblem]] | None:
    """Cases per patient from a C-NMC-layout folder, or None when the folder is not in that layout."""
    class_root = _class_root(root)
    if class_root is None:
        return None
    cases: dict[str, FolderCase] = {}
    problems: list[FolderProblem] = []
    for folder_label in CLASS_FOLDERS:
        for path in sorted((class_root / folder_label).glob("*")):
            if not path.is_file() or path.name.startswith("."):
                continue
            match = CNMC_NAME.match(path.stem)
            if match is None:
                problems.append(
                    FolderProblem(str(path), "name is not UID_<patient>_<image>_<cell>_<label>")
                )
                continue
            if match["label"] != folder_label:
                problems.append(
                    FolderProblem(
                        str(path),
                        f"label {match['label']!r} in the name disagrees with folder {folder_label!r}",
                    )
                )
                continue
            patient = match["patient"]
            cases.setdefault(patient, FolderCase(patient)).files.append((path, folder_label))
    return sorted(cases.values(), key=lambda c: c.patient_code), problems


def read_plain_folder(root: Path, patient_code: str) -> FolderCase:
    files = [(p, "") for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".")]
    return FolderCase(patient_code, files)
