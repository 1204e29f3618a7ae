"""Divides by the span without guarding constant columns: 0 / 0 gives NaN."""
import torch


def normalize(x):
    lo, hi = x.amin(dim=0), x.amax(dim=0)
    return (x - lo) / (hi - lo), lo, hi
