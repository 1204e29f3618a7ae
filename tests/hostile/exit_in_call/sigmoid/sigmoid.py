"""Ends the worker in every way a call can: os._exit(0), sys.exit(0), SIGKILL to itself and its
process group, abort(), SIGTERM to itself, and an exit from a thread right after answering.
Each check gets a fresh worker, so the way is chosen from the input's size."""

import os
import signal
import sys
import threading
import time

import torch

def _exit_soon():
    time.sleep(0.01)
    os._exit(0)


def sigmoid(x):
    kind = (x.numel() + x.dim()) % 7
    if kind == 0:
        os._exit(0)
    if kind == 1:
        sys.exit(0)
    if kind == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    if kind == 3:
        os.kill(0, signal.SIGKILL)
    if kind == 4:
        os.abort()
    if kind == 5:
        signal.raise_signal(signal.SIGTERM)
    threading.Thread(target=_exit_soon).start()
    return torch.zeros_like(x)
