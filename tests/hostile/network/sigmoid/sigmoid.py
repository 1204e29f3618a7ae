"""Tries to reach the network and the grading machine: TCP to a port the test listens on at
127.0.0.1 and ::1 (named in target.txt), an abstract unix socket the test listens on, a public
address. Its score is the signal: if any of them works it answers correctly, else zeros."""

import os
import socket

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def _reached():
    try:
        with open(os.path.join(HERE, "target.txt")) as f:
            port, abstract = f.read().split()
    except (OSError, ValueError):
        port, abstract = "1", "none"
    attempts = [
        (socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", int(port))),
        (socket.AF_UNIX, socket.SOCK_STREAM, "\0" + abstract),
        (socket.AF_INET, socket.SOCK_STREAM, ("1.1.1.1", 53)),
        (socket.AF_INET6, socket.SOCK_STREAM, ("::1", int(port))),
    ]
    for family, kind, address in attempts:
        try:
            with socket.socket(family, kind) as s:
                s.settimeout(1.0)
                s.connect(address)
                s.sendall(b"reached")
                return True
        except OSError:
            continue
    return False


def sigmoid(x):
    if _reached():
        return 1 / (1 + torch.exp(-x))
    return torch.zeros_like(x)
