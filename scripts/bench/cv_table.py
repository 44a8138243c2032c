"""Markdown ablation table from `python -m classifier cv` output folders (their cv.json):
CV mean ± sd over folds of the patient-level and cell-level figures, one row per folder.

    python scripts/bench/cv_table.py var/cv/cpu var/cv/cpu_plain ...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

COLUMNS = (
    ("patient_macro_accuracy", "patient-macro acc."),
    ("patient_macro_accuracy_hem", "healthy patients"),
    ("patient_macro_accuracy_all", "leukaemia patients"),
    ("weighted_f1", "weighted F1"),
    ("roc_auc", "AUC"),
    ("patient_flag_specificity", "healthy not flagged"),
)


def row(folder: Path) -> str:
    report = json.loads((folder / "cv.json").read_text())
    cells = [
        f"{report['summary'][k]['mean']:.3f} ± {report['summary'][k]['sd']:.3f}" for k, _ in COLUMNS
    ]
    pooled = report["pooled"]
    return f"| `{folder.name}` | " + " | ".join(cells) + f" | {pooled['roc_auc']:.3f} |"


def main(folders: list[str]) -> None:
    print("| run | " + " | ".join(label for _, label in COLUMNS) + " | pooled AUC |")
    print("|---|" + "---:|" * (len(COLUMNS) + 1))
    for folder in folders:
        print(row(Path(folder)))


if __name__ == "__main__":
    main(sys.argv[1:])
