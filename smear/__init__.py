"""Whole smear fields: generate test fields from real cells, find and segment the white cells in
a field, cut C-NMC-like crops, and measure detection. Pure NumPy/SciPy/scikit-image; never
imports Django (the platform calls it with arrays and plain values)."""
