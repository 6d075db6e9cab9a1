"""Our ir-CSN (src/header/models/csn.py) against pytorchvideo's `create_csn`, through a fixture made with
pytorchvideo 0.1.5 (tests/header/make_csn_fixture.py): same names and shapes, same outputs from the same weights,
and the checkpoint formats (pytorchvideo `.pyth`, mmaction2 ir-CSN) loading through the project's loader."""
import pytest
import torch

from src.core.errors import UserError
from src.header.models.csn import CSNBackbone, load_csn_weights
from src.header.models.csn_blocks import Bottleneck
from tests.header.make_csn_fixture import CONFIGS, FIXTURE, unflatten_state

TOLERANCE = {"atol": 1e-5, "rtol": 1e-5}


@pytest.fixture(scope="module")
def reference() -> dict:
    return torch.load(FIXTURE, map_location="cpu", weights_only=True)


def _backbone(entry: dict) -> CSNBackbone:
    return CSNBackbone(model_depth=entry["model_depth"], stem_dim_out=entry["stem_dim_out"],
                       stem_pool=entry["stem_pool"], gradient_checkpointing=False)


def _clip(reference: dict) -> torch.Tensor:
    return reference["clip"].float() * reference["clip_scale"]


def test_the_fixture_covers_every_config_the_project_uses(reference, compose, tmp_path):
    assert set(reference["configs"]) == set(CONFIGS)
    depths = {e["model_depth"] for e in reference["configs"].values()} | set(reference["layouts"])
    assert depths == {50, 101, 152}
    assert {e["stem_pool"] for e in reference["configs"].values()} == {"max", None}
    tiny, conf = reference["configs"]["csn_tiny"], compose(["task=header", "backbone=csn_tiny"], tmp_path).backbone
    assert (tiny["model_depth"], tiny["stem_dim_out"], tiny["stem_pool"]) == (
        conf.model_depth, conf.stem_dim_out, conf.stem_pool)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_names_and_shapes_are_create_csns(reference, name):
    entry = reference["configs"][name]
    ours = _backbone(entry).state_dict()
    assert list(ours) == entry["state"]["names"]                  # the same keys, in create_csn's order
    assert [list(v.shape) for v in ours.values()] == entry["state"]["shapes"]


@pytest.mark.parametrize("depth", [101])
def test_names_and_shapes_of_the_other_depths_are_create_csns(reference, depth):
    ours = CSNBackbone(model_depth=depth, stem_dim_out=reference["layout_stem_dim_out"], stem_pool="max",
                       gradient_checkpointing=False).state_dict()
    assert {k: list(v.shape) for k, v in ours.items()} == reference["layouts"][depth]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_same_weights_give_create_csns_outputs_in_eval_and_train_mode(reference, name):
    # The fixture was computed on one thread: with more, a 152-layer net's sums run in another order and its
    # train-mode output moves by ~2e-5. One thread compares the arithmetic, not the summation order (the thread
    # count is restored after each test by tests/conftest.py).
    torch.set_num_threads(1)
    entry = reference["configs"][name]
    net = _backbone(entry)
    net.load_state_dict(unflatten_state(entry["state"]), strict=True)
    with torch.no_grad():
        torch.testing.assert_close(net.eval()(_clip(reference)), entry["eval_output"], **TOLERANCE)
        torch.testing.assert_close(net.train()(_clip(reference)), entry["train_output"], **TOLERANCE)


def _to_mmaction(key: str) -> str:
    """create_csn names -> mmaction2 ir-CSN names (the inverse of the loader's rules, written out by hand)."""
    parts = key.split(".")
    if parts[1] == "0":
        return f"backbone.conv1.{'conv' if parts[2] == 'conv' else 'bn'}.{parts[-1]}"
    stage, block, rest = parts[1], parts[3], ".".join(parts[4:])
    names = {"branch2.conv_a": "conv1.conv", "branch2.norm_a": "conv1.bn", "branch2.conv_b": "conv2.conv.0",
             "branch2.norm_b": "conv2.bn", "branch2.conv_c": "conv3.conv", "branch2.norm_c": "conv3.bn",
             "branch1_conv": "downsample.conv", "branch1_norm": "downsample.bn"}
    module, leaf = rest.rsplit(".", 1)
    return f"backbone.layer{stage}.{block}.{names[module]}.{leaf}"


def test_pyth_and_mmaction_checkpoints_load_through_the_project_loader(reference, tmp_path):
    entry = reference["configs"]["csn_tiny"]
    state = unflatten_state(entry["state"])
    head = {"blocks.5.proj.weight": torch.zeros(400, 256), "blocks.5.proj.bias": torch.zeros(400)}
    # as pytorchvideo's hub files: the whole create_csn state (400-way head included) under model_state
    torch.save({"model_state": {**state, **head}, "epoch": 3, "cfg": "TRAIN: {}"}, tmp_path / "csn.pyth")
    mmaction = {_to_mmaction(k): v for k, v in state.items()}
    mmaction.update({"cls_head.fc_cls.weight": torch.zeros(400, 256), "cls_head.fc_cls.bias": torch.zeros(400)})
    torch.save({"meta": {"epoch": 1}, "state_dict": mmaction}, tmp_path / "csn_mmaction.pth")
    for name in ("csn.pyth", "csn_mmaction.pth"):
        net = _backbone(entry)
        ignored = load_csn_weights(net, str(tmp_path / name), "auto")
        assert len(ignored) == 2, name  # the 400-way classifier's weight and bias
        for key, value in net.state_dict().items():
            assert torch.equal(value, state[key]), (name, key)
        with torch.no_grad():
            torch.testing.assert_close(net.eval()(_clip(reference)), entry["eval_output"], **TOLERANCE)


def test_bad_csn_checkpoints_are_clear_errors(tmp_path):
    backbone = CSNBackbone(model_depth=50, stem_dim_out=8, stem_pool="max", gradient_checkpointing=False)
    with pytest.raises(UserError, match="no such file"):
        load_csn_weights(backbone, str(tmp_path / "none.pyth"), "auto")
    torch.save({"foo.weight": torch.zeros(2)}, tmp_path / "odd.pt")
    with pytest.raises(UserError, match="no known CSN format"):
        load_csn_weights(backbone, str(tmp_path / "odd.pt"), "auto")
    wider = CSNBackbone(model_depth=50, stem_dim_out=16, stem_pool="max", gradient_checkpointing=False)
    torch.save(wider.state_dict(), tmp_path / "wider.pt")
    with pytest.raises(UserError, match="does not fit"):
        load_csn_weights(backbone, str(tmp_path / "wider.pt"), "auto")
    with pytest.raises(UserError, match="model_depth=34"):
        CSNBackbone(model_depth=34, stem_dim_out=8, stem_pool="max", gradient_checkpointing=False)
    with pytest.raises(UserError, match="stem_pool=avg"):
        CSNBackbone(model_depth=50, stem_dim_out=8, stem_pool="avg", gradient_checkpointing=False)


def test_random_init_is_create_csns():
    """He-normal (fan_out) convolutions, BatchNorm 1 / 0, and the last BatchNorm of every bottleneck at scale 0, so
    every residual block starts as the identity on its shortcut."""
    torch.manual_seed(0)
    net = CSNBackbone(model_depth=50, stem_dim_out=8, stem_pool="max", gradient_checkpointing=False)
    bottlenecks = [m for m in net.modules() if isinstance(m, Bottleneck)]
    assert len(bottlenecks) == 16
    last_norms = {id(b.norm_c) for b in bottlenecks}
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm3d):
            assert torch.all(module.weight == (0.0 if id(module) in last_norms else 1.0))
            assert torch.all(module.bias == 0.0)
    conv = net.blocks[4].res_blocks[0].branch2.conv_c.weight                      # (256, 64, 1, 1, 1): fan_out 256
    assert conv.std().item() == pytest.approx((2 / 256) ** 0.5, rel=0.05)
    depthwise = net.blocks[4].res_blocks[1].branch2.conv_b                        # 64 groups of one channel
    assert depthwise.groups == 64 and depthwise.weight.shape == (64, 1, 3, 3, 3)


def test_a_seeded_random_init_and_the_draws_after_it_are_create_csns(reference):
    """The same seed gives the same csn_tiny, and leaves torch's generator where create_csn left it (its dropped
    head's draws are replayed), so a random-init run (the demo) trains exactly as before."""
    seeded = reference["seeded_init"]
    torch.manual_seed(seeded["seed"])
    net = CSNBackbone(**CONFIGS["csn_tiny"], gradient_checkpointing=False)
    assert torch.equal(torch.rand(len(seeded["draws_after"])), seeded["draws_after"])
    sums = {k: v.double().sum().item() for k, v in net.state_dict().items()}
    assert sums.keys() == seeded["sums"].keys()
    assert all(sums[k] == pytest.approx(seeded["sums"][k], rel=1e-12, abs=1e-12) for k in sums)
