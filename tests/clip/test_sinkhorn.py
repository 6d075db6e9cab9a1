"""Sinkhorn: marginals, the optimal assignment at small eps, padding columns, stability, batching."""
import torch

from src.clip.models.layers.sinkhorn import sinkhorn


def test_plan_has_uniform_marginals():
    g = torch.Generator().manual_seed(0)
    cost = torch.rand(3, 5, 4, 6, generator=g)                        # (videos, classes, T, M)
    plan = sinkhorn(cost, eps=0.1, iters=200)
    assert plan.shape == cost.shape
    assert (plan >= 0).all()
    torch.testing.assert_close(plan.sum(-1), torch.full((3, 5, 4), 1 / 4), atol=1e-5, rtol=0)
    torch.testing.assert_close(plan.sum(-2), torch.full((3, 5, 6), 1 / 6), atol=1e-5, rtol=0)


def test_small_eps_recovers_the_optimal_assignment():
    perm = torch.tensor([2, 0, 3, 1])
    cost = torch.ones(4, 4)
    cost[torch.arange(4), perm] = 0.0                                  # the cheap cells form a permutation
    plan = sinkhorn(cost, eps=0.01, iters=50)
    expected = torch.zeros(4, 4)
    expected[torch.arange(4), perm] = 0.25
    torch.testing.assert_close(plan, expected, atol=1e-4, rtol=0)


def test_larger_eps_spreads_the_mass():
    cost = torch.rand(4, 4, generator=torch.Generator().manual_seed(1))
    sharp, smooth = sinkhorn(cost, 0.01, 200), sinkhorn(cost, 100.0, 200)
    assert sharp.max() > smooth.max()
    torch.testing.assert_close(smooth, torch.full((4, 4), 1 / 16), atol=2e-3, rtol=0)


def test_padding_columns_get_no_mass_and_valid_columns_share_uniformly():
    cost = torch.rand(2, 3, 5, generator=torch.Generator().manual_seed(2))
    col_mask = torch.tensor([[True, True, False, False, False], [True, True, True, True, False]])   # (2, 5)
    plan = sinkhorn(cost, eps=0.1, iters=200, col_mask=col_mask)
    assert (plan[0, :, 2:] == 0).all() and (plan[1, :, 4:] == 0).all()
    torch.testing.assert_close(plan[0].sum(0)[:2], torch.full((2,), 0.5), atol=1e-5, rtol=0)
    torch.testing.assert_close(plan[1].sum(0)[:4], torch.full((4,), 0.25), atol=1e-5, rtol=0)
    torch.testing.assert_close(plan.sum(-1), torch.full((2, 3), 1 / 3), atol=1e-5, rtol=0)
    # the padded problem equals the unpadded one
    torch.testing.assert_close(plan[0, :, :2], sinkhorn(cost[0, :, :2], 0.1, 200), atol=1e-6, rtol=0)


def test_log_domain_is_stable_for_tiny_eps():
    cost = torch.rand(6, 7, generator=torch.Generator().manual_seed(3)) * 2   # exp(-2/1e-3) underflows
    plan = sinkhorn(cost, eps=1e-3, iters=100)
    assert torch.isfinite(plan).all()
    torch.testing.assert_close(plan.sum(-2), torch.full((7,), 1 / 7), atol=1e-5, rtol=0)
