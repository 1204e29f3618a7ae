"""Ends the worker with os._exit(0) while it is imported: a clean exit status must not read as success."""

import os

os._exit(0)


def sigmoid(x):
    raise NotImplementedError
