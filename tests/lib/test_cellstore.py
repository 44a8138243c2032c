"""One helper stores an image with its thumbnail and model-ready crop; what it wrote is removed
when the block fails before its transaction commits, and stays once it has."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from django.db import transaction

from allreview.lib.cellstore import files_removed_on_failure, image_files_store
from allreview.lib.imaging import check_image
from classifier.crops import CropGeometry
from classifier.synthetic import make_cell
from tests.helpers import encode

GEOMETRY = CropGeometry(crop=300, frame=450, size=64)


def _checked(model_input: CropGeometry | None = GEOMETRY):
    data = encode(make_cell("hem", 3), "PNG")
    return data, check_image(data, thumb_size=64, model_input=model_input)


def test_an_image_is_stored_with_its_thumbnail_and_model_input(db):
    data, checked = _checked()
    with files_removed_on_failure() as files:
        stored = image_files_store(files=files, base="t/a", checked=checked, original=data)
    assert stored.image == "t/a.png" and stored.thumbnail == "t/a.thumb.jpg"
    assert stored.model_input == "t/a.in300-450-64.png"
    assert stored.model_input_geometry == "300/450@64"
    with default_storage.open(stored.model_input, "rb") as handle:
        assert handle.read() == checked.model_input
    assert files.names == [stored.image, stored.thumbnail, stored.model_input]


def test_without_a_model_input_two_files_are_stored(db):
    data, checked = _checked(model_input=None)
    with files_removed_on_failure() as files:
        stored = image_files_store(files=files, base="t/b", checked=checked, original=data)
    assert (stored.model_input, stored.model_input_geometry) == ("", "")
    data, checked = _checked()
    with files_removed_on_failure() as files:
        field = image_files_store(
            files=files, base="t/c", checked=checked, original=data, with_model_input=False
        )
    assert field.model_input == "" and len(files.names) == 2


def test_a_failure_removes_every_file_written(db):
    data, checked = _checked()
    with pytest.raises(RuntimeError), files_removed_on_failure() as files:
        stored = image_files_store(files=files, base="t/d", checked=checked, original=data)
        raise RuntimeError("the row could not be written")
    assert not any(default_storage.exists(n) for n in (stored.image, stored.thumbnail))
    assert not default_storage.exists(stored.model_input)


def test_files_of_a_committed_transaction_stay_even_if_the_block_fails_after(
    db, django_capture_on_commit_callbacks
):
    data, checked = _checked()
    with pytest.raises(RuntimeError), files_removed_on_failure() as files:
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            stored = image_files_store(files=files, base="t/e", checked=checked, original=data)
            files.keep_on_commit()
        raise RuntimeError("an on-commit hook failed")
    assert default_storage.exists(stored.image) and default_storage.exists(stored.model_input)


def test_a_discarded_file_is_removed_and_forgotten(db):
    data, checked = _checked()
    with files_removed_on_failure() as files:
        first = image_files_store(files=files, base="t/f", checked=checked, original=data)
        again = image_files_store(files=files, base="t/f", checked=checked, original=data)
        files.discard(again.image, again.thumbnail, again.model_input, "")
    assert again.image != first.image and not default_storage.exists(again.image)
    assert files.names == [first.image, first.thumbnail, first.model_input]
    assert default_storage.exists(first.image)
