"""Shared fixtures: the bundled course and one grader (one zygote) for the whole test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from grader.grading import config
from grader.course.discover import load_course
from grader.grading.runner import Grader

ROOT = Path(__file__).resolve().parents[1]

# A report's language follows the locale where neither --lang nor [tool.grade] lang names one
# (grader/messages.py); the suite reads English reports, whatever the machine's locale.
for _name in ("LC_ALL", "LC_MESSAGES"):
    os.environ.pop(_name, None)
os.environ["LANG"] = "C.UTF-8"

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
requires_root = pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox needs root")


@pytest.fixture(scope="session")
def course():
    return load_course(ROOT)


def make_settings(course, **overrides):
    kw = dict(course=ROOT, course_settings=course.settings, submission=ROOT / "solutions", exercises=None,
              device="cpu", timing=False)
    kw.update(overrides)
    return config.resolve(**kw)


@pytest.fixture(scope="session")
def grader(course):
    """A grader for every exercise, timing off: correctness is what these tests judge."""
    with Grader(course, make_settings(course)) as g:
        yield g
