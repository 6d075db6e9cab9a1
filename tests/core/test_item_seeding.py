"""An item's random draws are a function of (seed, epoch, index) only, and leave every global generator alone."""
import torch

from src.core.item_seeding import ItemSeeds


def _draw(seeds: ItemSeeds, index: int) -> tuple[float, float]:
    with seeds.draws(index) as rng:
        return torch.rand(()).item(), float(rng.random())     # torch's global CPU RNG (transforms) and numpy's


def test_draws_depend_on_seed_epoch_and_index_only():
    seeds = ItemSeeds(seed=3)
    first = [_draw(seeds, i) for i in range(4)]
    assert [_draw(seeds, i) for i in reversed(range(4))] == first[::-1]      # order and history do not matter
    assert len(set(first)) == 4                                              # each item its own draws
    seeds.set_epoch(1)
    assert [_draw(seeds, i) for i in range(4)] != first
    assert [_draw(ItemSeeds(seed=4), i) for i in range(4)] != first


def test_draws_leave_the_global_generators_as_they_were(monkeypatch):
    def no_cuda_seeding(*_args, **_kwargs):
        raise AssertionError("an item's draws must not seed CUDA: fork_rng(devices=[]) would not restore it")

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    monkeypatch.setattr(torch.cuda, "manual_seed_all", no_cuda_seeding)
    monkeypatch.setattr(torch.cuda, "manual_seed", no_cuda_seeding)
    _draw(ItemSeeds(seed=0), 7)
    torch.testing.assert_close(torch.rand(3), expected, rtol=0, atol=0)   # the training loop's stream goes on
