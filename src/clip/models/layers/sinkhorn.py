"""Entropic optimal transport with uniform marginals (Sinkhorn–Knopp in the log domain).

Used by ViDOP's `descriptor_agg: ot`: the T frame embeddings of a clip are transported onto the M descriptors of
a class, and the class score is the plan-weighted similarity (the OST idea). Everything is batched over leading
dimensions, so one call solves (videos × classes) problems at once.
"""
import math

import torch
from torch import Tensor


def sinkhorn(cost: Tensor, eps: float, iters: int, col_mask: Tensor | None = None) -> Tensor:
    """Transport plan P minimising <P, cost> − eps·H(P) with row sums 1/n and column sums 1/m.

    cost: (..., n, m). col_mask: optional bool (..., m), False marks padding columns (e.g. a class with fewer
    descriptors than the widest class): they get zero mass and the uniform column marginal is over the valid
    columns only. Returns the plan (..., n, m); its column sums are exact, its row sums converge with `iters`.
    The log domain keeps small `eps` stable (no exp(-cost/eps) underflow).
    """
    assert cost.dim() >= 2, f"sinkhorn: cost must be (..., n, m), got shape {tuple(cost.shape)}"
    assert eps > 0, f"sinkhorn: eps must be > 0, got {eps}"
    assert iters >= 1, f"sinkhorn: iters must be >= 1, got {iters}"
    n, m = cost.shape[-2], cost.shape[-1]
    log_k = -cost / eps                                                     # (..., n, m)
    log_a = torch.full(cost.shape[:-1], -math.log(n), dtype=cost.dtype, device=cost.device)   # (..., n)
    if col_mask is None:
        log_b = torch.full(cost.shape[:-2] + (m,), -math.log(m), dtype=cost.dtype, device=cost.device)
    else:
        assert col_mask.shape[-1] == m, f"sinkhorn: col_mask has {col_mask.shape[-1]} columns, cost has {m}"
        col_mask = col_mask.expand(cost.shape[:-2] + (m,))
        valid = col_mask.sum(-1, keepdim=True).to(cost.dtype)             # (..., 1)
        assert bool((valid > 0).all()), "sinkhorn: every problem needs at least one valid column"
        log_b = torch.where(col_mask, -torch.log(valid), torch.full_like(valid, -math.inf))   # (..., m)
    log_u = torch.zeros_like(log_a)                                         # (..., n)
    log_v = torch.where(torch.isinf(log_b), log_b, torch.zeros_like(log_b))  # (..., m); padding stays -inf
    for _ in range(iters):
        log_u = log_a - torch.logsumexp(log_k + log_v.unsqueeze(-2), dim=-1)
        log_v = log_b - torch.logsumexp(log_k + log_u.unsqueeze(-1), dim=-2)
    return torch.exp(log_u.unsqueeze(-1) + log_k + log_v.unsqueeze(-2))   # (..., n, m)
