"""Calls torch.nn.init.xavier_uniform_, which the exercise forbids."""
import torch


def xavier_init(fan_in, fan_out, generator):
    g = torch.Generator()
    g.manual_seed(generator)
    return torch.nn.init.xavier_uniform_(torch.empty(fan_in, fan_out), generator=g)
