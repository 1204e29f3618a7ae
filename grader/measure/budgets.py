"""The common ground of timing and memory checks: items measured only for a correct answer."""

from __future__ import annotations

import pytest

from grader.course.discover import Exercise
from grader.messages import Message


class BudgetItem(pytest.Item):
    """A timing or memory check of one exercise: measured only when every correctness check passed.

    Subclasses set ``kind`` and ``keys`` (their reasons for skipping) and implement ``runtest`` around
    :meth:`plan_or_skip`; what they measure goes to ``measured``, the check's JSON object.
    """

    kind = "timing"
    # Why nothing was measured, as catalogue keys (grader/messages.py), one set per kind.
    keys = {"no_budget": "budget.timing.none_for_device", "failed": "budget.timing.not_measured_failed",
            "none_ran": "budget.timing.not_measured_none_ran"}

    def __init__(self, *, budget, exercise: Exercise, plugin, **kwargs):
        super().__init__(**kwargs)
        self.budget = budget
        self.exercise = exercise
        self.plugin = plugin
        self.points = budget.points
        self.measured: dict | None = None
        self.uncounted = False  # skipped by request or for want of a budget here: not part of the score

    def plan_or_skip(self, plan_for):
        """The device's plan for this budget, or a skip saying why there is nothing to measure."""
        device = self.plugin.settings.device
        plan = plan_for(self.budget, device)
        if plan is None:
            self.uncounted = True
            pytest.skip(Message(self.keys["no_budget"], {"device": device}))
        passed, failed = self.plugin.correctness_passed(self.exercise.id)
        if not passed:
            pytest.skip(Message(self.keys["failed"], {"failed": failed}) if failed else Message(self.keys["none_ran"]))
        return plan

    def repr_failure(self, excinfo, style=None) -> str:
        return str(excinfo.value)

    def reportinfo(self):
        return self.path, None, self.name
