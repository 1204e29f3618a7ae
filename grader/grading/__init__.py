"""Grading a submission: settings, the pytest plugin and its proxy, the runner and the plain results."""
