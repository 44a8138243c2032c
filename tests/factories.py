"""factory_boy factories for every row the tests make. Rows only: a Cell's image path names no
file (tests about image bytes upload real ones through `case_upload`)."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from allreview.cases.models import Case, CaseStatus, Cell, CellClass, Label, LabelKind, Prediction
from allreview.mlmodels.models import ModelVersion
from allreview.projects.models import Membership, Project, Role
from allreview.training.models import RunTrigger, TrainingRun


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct horse battery staple")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Lab {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    project = factory.SubFactory(ProjectFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.REVIEWER


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case

    project = factory.SubFactory(ProjectFactory)
    patient_code = factory.Sequence(lambda n: f"P-{n:04d}")
    status = CaseStatus.READY


class ModelVersionFactory(factory.django.DjangoModelFactory):
    """A registry row with no checkpoint file: shared unless given a project."""

    class Meta:
        model = ModelVersion

    name = factory.Sequence(lambda n: f"model-{n}")
    project = None
    profile = "tiny"
    architecture = "tiny"
    checkpoint = factory.LazyAttribute(lambda version: f"models/{version.name}.pt")
    sha256 = "0" * 64


class CellFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cell

    case = factory.SubFactory(CaseFactory)
    sha256 = factory.Sequence(lambda n: f"{n:064x}")
    image = factory.LazyAttribute(lambda c: f"cells/{c.case.project_id}/{c.case.pk}/{c.sha256}.png")
    thumbnail = factory.LazyAttribute(
        lambda c: f"cells/{c.case.project_id}/{c.case.pk}/{c.sha256}.thumb.jpg"
    )
    size_bytes = 1000
    width = 450
    height = 450
    image_format = "PNG"
    original_name = factory.Sequence(lambda n: f"cell_{n}.png")

    @classmethod
    def create_for_case(
        cls, case: Case, n: int, *, model_version: ModelVersion | None = None
    ) -> list[Cell]:
        """`n` cells of the case in one query; with a model version, each with its prediction
        (probabilities 0.0, 0.1 ... 0.9 in turn, 0.5 and above called blasts) and the case
        classified by it, ready for review."""
        cells = Cell.objects.bulk_create(cls.build_batch(n, case=case))
        if model_version is not None:
            Prediction.objects.bulk_create(
                PredictionFactory.build(
                    cell=cell, model_version=model_version, probability=(i % 10) / 10
                )
                for i, cell in enumerate(cells)
            )
            Case.objects.filter(pk=case.pk).update(
                model_version=model_version, status=CaseStatus.READY
            )
        return cells


class PredictionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Prediction

    cell = factory.SubFactory(CellFactory)
    model_version = factory.SubFactory(ModelVersionFactory)
    probability = 0.5
    label = factory.LazyAttribute(
        lambda p: CellClass.ALL if p.probability >= 0.5 else CellClass.HEM
    )
    uncertainty = 0.01


class LabelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Label

    cell = factory.SubFactory(CellFactory)
    user = factory.SubFactory(UserFactory)
    value = CellClass.ALL
    kind = LabelKind.READ


class TrainingRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrainingRun

    project = factory.SubFactory(ProjectFactory)
    trigger = RunTrigger.MANUAL
    profile = "tiny"  # status: the model's default (queued)
