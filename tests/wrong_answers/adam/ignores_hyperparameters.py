"""Hard-codes the default hyperparameters instead of using the arguments."""
import torch


def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = 0.9 * m + 0.1 * grad
    v = 0.999 * v + 0.001 * grad * grad
    m_hat = m / (1 - 0.9 ** t)
    v_hat = v / (1 - 0.999 ** t)
    return param - 1e-3 * m_hat / (v_hat.sqrt() + 1e-8), m, v
