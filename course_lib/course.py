"""The chapter map and the places the course keeps its files.

Every chapter has one slug ``NN_name``; the same slug names its chapter notebook
(``chapters/``), its exercises (``exercises/``) and its worked solutions (``solutions/``).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Chapter:
    number: str  # two digits, "01"
    slug: str  # "01_linear_algebra"
    title: str

    @property
    def filename(self) -> str:
        return f"{self.slug}.ipynb"


CHAPTERS: tuple[Chapter, ...] = tuple(
    Chapter(slug[:2], slug, title)
    for slug, title in [
        ("00_welcome", "Welcome: how this course works"),
        ("01_linear_algebra", "Linear algebra"),
        ("02_calculus", "Calculus"),
        ("03_probability_information", "Probability and information"),
        ("04_neurons_activations_losses", "Neurons, activations and losses"),
        ("05_backpropagation", "Backpropagation"),
        ("06_optimization", "Optimization"),
        ("07_regularization", "Regularization"),
        ("08_loss_landscapes", "Loss landscapes"),
        ("09_convolutional_networks", "Convolutional networks"),
        ("10_recurrent_networks", "Recurrent networks"),
        ("11_attention_transformers", "Attention and transformers"),
        ("12_generative_models", "Generative models"),
        ("13_graphs_and_continuous_depth", "Graphs and continuous depth"),
        ("14_robustness_explainability_transfer", "Robustness, explainability and transfer"),
        ("15_scaling_and_gpus", "Scaling and GPUs"),
    ]
)

_BY_NUMBER = {c.number: c for c in CHAPTERS}


class UnknownChapter(ValueError):
    """Raised for a chapter number or slug the course does not have."""


def chapter(key: str | int) -> Chapter:
    """Look a chapter up by number (``1``, ``"01"``), slug or file name."""
    text = str(key).strip()
    match = re.match(r"^(\d{1,2})(?:_|$)", Path(text).name)
    if match:
        number = match.group(1).zfill(2)
        if number in _BY_NUMBER:
            return _BY_NUMBER[number]
    known = ", ".join(c.number for c in CHAPTERS)
    raise UnknownChapter(f"unknown chapter {text!r} (chapters are {known})")


def is_course_folder(path: Path) -> bool:
    """Whether ``path`` looks like the course: it holds a ``chapters/`` folder."""
    return (Path(path) / "chapters").is_dir()


def locate_course_root(cwd: Path | None = None) -> tuple[Path, str]:
    """The folder holding chapters/, exercises/ and solutions/, and why it was chosen.

    In order: ``COURSE_ROOT`` when set; the current directory when it holds ``chapters/``;
    the nearest parent of it that does (so ``course`` works from ``exercises/`` too); the
    checkout this package was installed from (an editable install); the current directory.
    Where the command is run wins over where the package was installed: a ``.venv`` made in
    another checkout must not grade that checkout's files.

    Returns
    -------
    root : Path
    reason : str
        A few words for the learner, e.g. ``"the current directory"``.
    """
    if os.environ.get("COURSE_ROOT"):
        return Path(os.environ["COURSE_ROOT"]).resolve(), "COURSE_ROOT"
    here = Path.cwd() if cwd is None else Path(cwd)
    here = here.resolve()
    if is_course_folder(here):
        return here, "the current directory"
    for parent in here.parents:
        if is_course_folder(parent):
            return parent, "a parent of the current directory"
    installed = Path(__file__).resolve().parent.parent
    if is_course_folder(installed):
        return installed, "where course_lib is installed (no chapters/ in or above the current directory)"
    return here, "the current directory (no chapters/ found)"


def course_root() -> Path:
    """The folder holding chapters/, exercises/ and solutions/ (see :func:`locate_course_root`)."""
    return locate_course_root()[0]
