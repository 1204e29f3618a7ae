"""Turns the hyperparameters into torch.tensor constants: float32, so float64 drifts."""
import torch


def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    b1 = torch.tensor(beta1, device=param.device)
    b2 = torch.tensor(beta2, device=param.device)
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    m_hat = m / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    return param - lr * m_hat / (v_hat.sqrt() + eps), m, v
