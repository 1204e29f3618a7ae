"""Calls the forbidden library RMS norm."""
import torch.nn.functional as F


def rms_norm(x, weight, eps=1e-5):
    return F.rms_norm(x, x.shape[-1:], weight, eps)
