"""Ignores every signal it can (SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGALRM, SIGXCPU...), blocks the
rest it may, and never returns from a call."""

import signal


def _deaf():
    for sig in signal.valid_signals():
        try:
            signal.signal(sig, signal.SIG_IGN)
        except (OSError, ValueError, RuntimeError):
            pass
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    except (OSError, ValueError):
        pass


_deaf()


def sigmoid(x):
    _deaf()
    while True:
        pass
