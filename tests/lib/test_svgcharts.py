from __future__ import annotations

from datetime import datetime
from xml.etree import ElementTree

from allreview.agreement.charts import kappa_svg
from allreview.training.charts import confusion_svg, curves_svg, drift_svg, reliability_svg

SVG = "{http://www.w3.org/2000/svg}"


def test_charts_are_well_formed_svg_with_user_names_escaped():
    hostile = "<script>alert(1)</script>&'\""
    rows = [
        {
            "model_version__name": hostile,
            "week": datetime(2026, 11, 2),
            "override_rate": 0.1,
            "blast_rate": 0.4,
            "mean_uncertainty": None,
        }
    ]
    kappa_rows = [{"period": "2026-11", "a": "model", "b": hostile, "kappa": 0.7}]
    history = [{"epoch": 1, "train_loss": 0.6, "val_loss": 0.7, "val_weighted_f1": 0.5}]
    for svg in (
        drift_svg(rows),
        kappa_svg(kappa_rows),
        curves_svg(history, hostile),
        confusion_svg([[3, 1], [0, 4]]),
        reliability_svg([0, 1, 1], [0.2, 0.7, 0.9]),
    ):
        root = ElementTree.fromstring(svg)  # raises on a stray "<" or "&"
        assert root.tag == f"{SVG}svg" and root.find(f"{SVG}script") is None
        assert "<script>" not in svg
    texts = [t.text for t in ElementTree.fromstring(drift_svg(rows)).iter(f"{SVG}text")]
    assert hostile in texts  # shown as text, not markup


def test_empty_charts_say_so():
    assert "no epoch finished yet" in curves_svg([])
    assert "no predictions yet" in drift_svg([])
    assert "not enough paired reads yet" in kappa_svg([])
    assert "no scored cells yet" in reliability_svg([], [])
