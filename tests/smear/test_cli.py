from __future__ import annotations

import json

from smear.cli import main
from smear.masks import rle_decode
from tests.fields.helpers import drawn_field
from tests.paths import CNMC_DIR


def test_segment_writes_crops_and_provenance(tmp_path):
    field = tmp_path / "f.jpg"
    field.write_bytes(drawn_field())
    assert main(["segment", str(field), "--out", str(tmp_path / "out")]) == 0
    cells = json.loads((tmp_path / "out" / "f.cells.json").read_text())["cells"]
    assert len(cells) == 3
    for cell in cells:
        assert (tmp_path / "out" / cell["crop"]).exists()
        x0, y0, x1, y1 = cell["box"]
        assert rle_decode(cell["mask"]).shape == (y1 - y0, x1 - x0)
        assert len(cell["polygon"]) >= 8


def test_generate_writes_fields_with_truth(cnmc_sources, tmp_path):
    args = ["generate", "--data", str(CNMC_DIR), "--out", str(tmp_path), "--fields", "1"]
    assert main([*args, "--seed", "3", "--width", "900", "--height", "700"]) == 0
    truth = json.loads((tmp_path / "field_3.json").read_text())
    assert (tmp_path / "field_3.jpg").exists() and truth["width"] == 900
    assert truth["cells"] and {"box", "mask", "edge", "label", "source"} <= set(truth["cells"][0])
