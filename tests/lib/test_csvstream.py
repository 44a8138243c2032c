from __future__ import annotations

import csv
import io

from allreview.lib.csvstream import csv_rows


def test_text_a_spreadsheet_would_run_as_a_formula_is_quoted():
    rows = [['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "cell.png", 3.5, -0.25]]
    text = "".join(csv_rows(["a", "b", "c", "d", "e", "f", "g"], rows))
    values = next(iter(csv.DictReader(io.StringIO(text))))
    assert values["a"].startswith("'=") and values["b"] == "'+1" and values["d"] == "'@SUM(A1)"
    assert values["e"] == "cell.png"
    assert (values["f"], values["g"]) == ("3.5", "-0.25")  # numbers stay numbers
