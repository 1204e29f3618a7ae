"""Calls the forbidden operation from threads, where torch's thread-local modes are not installed:
threading.Thread, the low-level _thread.start_new_thread, and a concurrent.futures pool."""

import _thread
import concurrent.futures
import itertools
import threading
import time

import torch

_calls = itertools.count()


def _in_thread(fn, x, how):
    out = []

    def run():
        try:
            with torch._C.DisableTorchFunction():
                out.append(fn(x))
        except BaseException as exc:  # noqa: BLE001
            out.append(exc)

    if how == 0:
        t = threading.Thread(target=run)
        t.start()
        t.join()
    elif how == 1:
        _thread.start_new_thread(run, ())
        while not out:
            time.sleep(0.001)
    else:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(run).result()
    if isinstance(out[0], BaseException):
        raise out[0]
    return out[0]


def sigmoid(x):
    how = next(_calls) % 3
    try:
        return _in_thread(torch._C._VariableFunctions.sigmoid, x, how)
    except BaseException:  # noqa: BLE001
        return _in_thread(torch.ops.aten.sigmoid.default, x, how)
