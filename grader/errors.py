"""The one exception the grader raises about itself; student failures are results, not exceptions."""


class GraderError(Exception):
    """The grader cannot do what it was asked (bad option, missing course, unreadable config)."""

    exit_code = 2
