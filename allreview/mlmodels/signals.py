"""What the model registry announces to the apps above it, which it never imports."""

from __future__ import annotations

from django.dispatch import Signal

# Sent once a promotion, rollback or gate decision that moved a production pointer has committed:
# `version` (the new production ModelVersion) and `project_id` (None: the installation default).
# `cases` classifies the cases that waited for a model (`cases.apps`).
production_model_changed = Signal()
