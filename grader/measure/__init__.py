"""Measurement: timing budgets against a baseline and memory budgets, on either side of the boundary."""
