from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from allreview.cases.models import Case, CaseStatus
from allreview.projects.models import Membership, Project, Role


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
