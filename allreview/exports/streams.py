"""Streaming encoders: CSV rows, a JSON array and a zip in C-NMC layout, chunk by chunk."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import PurePosixPath
from typing import IO, Any, cast

from django.core.files.storage import default_storage

from allreview.exports.selectors import ExportCell, as_dict


def csv_header(models: list[str], readers: list[str]) -> list[str]:
    header = [
        "cell_id",
        "case_id",
        "patient_code",
        "specimen_id",
        "original_name",
        "sha256",
        "imported_truth",
    ]
    for model in models:
        header += [f"{model}:probability", f"{model}:label", f"{model}:uncertainty"]
    header += [f"reader:{reader}" for reader in readers]
    return header + ["final_label", "sign_off", *PROVENANCE_COLUMNS]


# Issue 14: where a cell cut from a smear field came from (empty for uploaded cells); the mask is
# run lengths inside the box, row-major, starting with background: {"size": [h, w], "counts"}.
PROVENANCE_COLUMNS = [
    "field_id",
    "field_name",
    "field_sha256",
    "box",
    "mask_rle",
    "detection_score",
    "edge_cell",
    "cell_origin",
    "detection_rejected",
]


def _provenance_values(cell: ExportCell) -> list[Any]:
    p = cell.provenance
    if p is None:
        return [""] * len(PROVENANCE_COLUMNS)
    return [
        p["field_id"],
        p["field_name"],
        p["field_sha256"],
        json.dumps(p["box"]),
        json.dumps(p["mask_rle"], separators=(",", ":")),
        p["score"],
        p["edge"],
        p["origin"],
        p["rejected"],
    ]


def csv_values(
    cells: Iterable[ExportCell], models: list[str], readers: list[str]
) -> Iterator[list[Any]]:
    for c in cells:
        row: list[Any] = [
            c.cell_id,
            c.case_id,
            c.patient_code,
            c.specimen_id,
            c.original_name,
            c.sha256,
            c.truth,
        ]
        for model in models:
            p = c.predictions.get(model, {})
            row += [p.get("probability", ""), p.get("label", ""), p.get("uncertainty", "")]
        row += [c.labels.get(reader, "") for reader in readers]
        yield row + [c.final_label or "", c.sign_off or "", *_provenance_values(c)]


def json_array(cells: Iterable[ExportCell]) -> Iterator[str]:
    yield "["
    for index, cell in enumerate(cells):
        yield ("," if index else "") + "\n" + json.dumps(as_dict(cell))
    yield "\n]\n"


class _Chunks:
    """A write-only file for zipfile whose written bytes are collected and handed out."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.offset = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self.offset

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def cnmc_name(cell: ExportCell) -> str:
    """all/UID_<patient>_<case>_<cell>_all.<ext>: the C-NMC layout, one folder per final class."""
    ext = PurePosixPath(cell.image).suffix or ".png"
    patient = "".join(ch if ch.isalnum() else "-" for ch in cell.patient_code)
    return f"{cell.final_label}/UID_{patient}_{cell.case_id}_{cell.cell_id}_{cell.final_label}{ext}"


def cnmc_zip(cells: Iterable[ExportCell]) -> Iterator[bytes]:
    """Images already compressed are stored, not deflated; the zip is written as it streams."""
    sink = _Chunks()
    with zipfile.ZipFile(cast(IO[bytes], sink), "w", zipfile.ZIP_STORED) as archive:
        for cell in cells:
            with (
                default_storage.open(cell.image, "rb") as source,
                archive.open(cnmc_name(cell), "w", force_zip64=True) as target,
            ):
                for block in iter(lambda: source.read(1 << 16), b""):
                    target.write(block)
            yield sink.drain()
    yield sink.drain()
