from __future__ import annotations

from typing import Any, cast

from django import forms
from django.db.models import QuerySet

from allreview.cases.models import pseudonym_validator
from allreview.cases.pseudonyms import validate_patient_code
from allreview.projects.models import Project


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": "image/*,.zip,.bmp,.tif,.tiff"})
        )
        # An empty file is refused by the upload checks, which name it; Django's own refusal
        # ("The submitted file is empty.") would not say which one.
        kwargs.setdefault("allow_empty_file", True)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class CaseUploadForm(forms.Form):
    project = forms.ModelChoiceField(queryset=Project.objects.none())
    patient_code = forms.CharField(
        max_length=64,
        validators=[validate_patient_code],
        help_text="Pseudonymous code only: never a name, a date of birth or a record number.",
    )
    specimen_id = forms.CharField(max_length=64, required=False, validators=[pseudonym_validator])
    files = MultipleFileField(  # type: ignore[assignment]  # Django names the form's files so too
        help_text="Cell images (BMP, PNG, JPEG, TIFF) or zip archives."
    )

    def __init__(self, *args: Any, projects: QuerySet[Project], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast("forms.ModelChoiceField[Project]", self.fields["project"]).queryset = projects
        if projects.count() == 1:
            self.fields["project"].initial = projects.first()
