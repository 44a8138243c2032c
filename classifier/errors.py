"""Errors for bad input: each names the file (or value) and why, so callers can show it as is."""

from __future__ import annotations


class ClassifierError(Exception):
    """Base class of every error caused by bad input; the CLI prints it and exits 2."""


class ProfileError(ClassifierError, ValueError):
    """An unknown profile name or an invalid profile description."""


class ManifestError(ClassifierError):
    """A manifest or image folder that cannot be turned into samples."""


class LabelError(ManifestError):
    """A label other than 'all' or 'hem'."""


class ImageError(ClassifierError):
    """An image file that cannot be read or decoded."""


class CheckpointError(ClassifierError):
    """A checkpoint that is missing, corrupt or of another architecture or profile."""


class InitError(ClassifierError):
    """An ImageNet initialisation file that does not fit the model."""


class SplitError(ClassifierError, ValueError):
    """The patients cannot be split as asked (too few of a class for the folds or sides)."""
