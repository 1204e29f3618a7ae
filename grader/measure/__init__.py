"""Measurement: timing budgets against a baseline and memory budgets, on either side of the boundary."""

# The worker's side of the measurements: the zygote imports these before it forks, so that their
# requests are registered and what they capture is genuine.
WORKER_MODULES = ("grader.measure.timing_worker", "grader.measure.memory_worker")
