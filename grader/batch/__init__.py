"""Grading a class: the roster of submissions, the local and Ray backends, and the resumable run."""
