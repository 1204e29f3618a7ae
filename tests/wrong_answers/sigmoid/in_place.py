"""Computes in place: the caller's tensor is overwritten."""
import torch


def sigmoid(x):
    x.neg_().exp_().add_(1).reciprocal_()
    return x
