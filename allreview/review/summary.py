"""The case summary: counts per class (model vs reviewed), blast fraction with a Wilson interval,
and the patient-level decision-support flag."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from allreview.cases.models import Case
from allreview.lib.users import AnyUser
from allreview.review.selectors.gallery import case_review_counts
from allreview.review.selectors.reading import ReadingView, reading_view, viewer_label
from allreview.review.stats import Proportion, wilson_interval


@dataclass(frozen=True)
class ClassRow:
    name: str
    letter: str  # shown with the colour, so colour is never the only signal
    model: int | None  # None: the model has no such class
    reviewed: int


@dataclass(frozen=True)
class CaseSummary:
    counts: dict[str, int]
    rows: list[ClassRow]
    model_fraction: Proportion  # blasts among the model's calls
    current_fraction: Proportion  # blasts among reviewer labels, the model's call elsewhere
    threshold: float
    flagged: bool
    open_cells: int  # unreviewed or unsure: what blocks a plain sign-off
    reviewed_percent: int
    model_hidden: bool = False  # a reader blinded to the model's call
    own_reads: bool = False  # the counts are this reader's own reads

    @property
    def fraction_rows(self) -> list[tuple[str, str, Proportion]]:
        if self.model_hidden:
            return [("Blast fraction, my reads", "", self.current_fraction)]
        return [
            ("Blast fraction, model", "", self.model_fraction),
            (
                "Blast fraction, current calls",
                "reviewer's label, else the model's",
                self.current_fraction,
            ),
        ]


def summarise(
    counts: dict[str, int], threshold: float, *, model_hidden: bool = False, own_reads: bool = False
) -> CaseSummary:
    model = wilson_interval(
        counts["predicted_all"], counts["predicted_all"] + counts["predicted_hem"]
    )
    current = wilson_interval(counts["call_all"], counts["call_all"] + counts["call_hem"])
    rows = [
        ClassRow("Blast (ALL)", "B", counts["predicted_all"], counts["label_all"]),
        ClassRow("Normal (HEM)", "N", counts["predicted_hem"], counts["label_hem"]),
        ClassRow("Unsure", "U", None, counts["label_unsure"]),
        ClassRow("Artifact", "X", None, counts["label_artifact"]),
        ClassRow("Unreviewed", "–", None, counts["unreviewed"]),
    ]
    total = counts["total"]
    return CaseSummary(
        counts=counts,
        rows=rows,
        model_fraction=model,
        current_fraction=current,
        threshold=threshold,
        flagged=current.estimate is not None and current.estimate > threshold,
        open_cells=counts["unreviewed"] + counts["label_unsure"],
        reviewed_percent=round(100 * counts["reviewed"] / total) if total else 0,
        model_hidden=model_hidden,
        own_reads=own_reads,
    )


def case_summary(
    *, case: Case, user: AnyUser | None = None, view: ReadingView | None = None
) -> CaseSummary:
    """The summary as the user sees it: a reader of a double-read case (or a blinded one) gets
    their own reads counted, others the final labels; without a user, the final labels."""
    if user is None:
        counts = case_review_counts(case=case)
        return summarise(counts, settings.BLAST_FLAG_THRESHOLD)
    view = view or reading_view(case=case, user=user)
    label = viewer_label(case=case, user=user, view=view)
    # Reader QC: the counts a reader sees include the known-answer cells on their page (a count
    # that did not move when one is labelled would give it away); the case's record never does.
    counts = case_review_counts(case=case, label=label, stand_ins=view.stand_ins)
    if view.model_hidden:
        counts = _without_model(counts)
    return summarise(
        counts,
        settings.BLAST_FLAG_THRESHOLD,
        model_hidden=view.model_hidden,
        own_reads=view.own_reads,
    )


def _without_model(counts: dict[str, int]) -> dict[str, int]:
    """Counts a reader blinded to the model may see: no model class, no calls filled from it."""
    hidden = dict(counts, predicted_all=0, predicted_hem=0, disagree=0)
    hidden["unpredicted"] = counts["total"]
    hidden["call_all"], hidden["call_hem"] = counts["label_all"], counts["label_hem"]
    return hidden
