"""Writes tests/header/fixtures/csn_reference.pt: what pytorchvideo's own `create_csn` computes, for
tests/header/test_csn_reference.py to check our ir-CSN (src/header/models/csn.py) against.

    pip install pytorchvideo==0.1.5          # not a project dependency (any more): only this script needs it
    python -m tests.header.make_csn_fixture  # from the repository root; rewrites the fixture (0.47 MB)

For each config below, create_csn is built seeded and then EVERY tensor of its state is redrawn (BatchNorm scales,
shifts and running statistics too, the zero-initialised last scale of each bottleneck included), so that a wrong
eps, padding, stride, group count or branch order shows in the output. Its backbone (blocks.0-4: create_csn's head
is dropped, as the project uses it) runs one seeded clip in eval mode (running statistics) and in train mode
(batch statistics). Weights and clip are drawn on an 8-bit grid (int8 x a power of two per tensor, exact in
float32), the model is built from those values and they are stored as int8: a quarter of float32, nothing lost.
The outputs are float32. A state is stored as its names, shapes, scales and ONE flat int8 tensor (`flat_state`;
`unflatten_state` undoes it): a .pt file costs a zip record per tensor, which doubled the file. Also stored: the names and shapes create_csn gives depth 101 (stem width 2): with the two configs,
every supported depth's layout is checked. And csn_tiny's seeded random init (tensor sums, the draws after it):
a random-init csn_tiny (the demo, the tests) must stay what it was. Everything is tensors, numbers and strings: it loads with weights_only=True.
"""
import math
import sys
from pathlib import Path

import torch
from torch import nn

FIXTURE = Path(__file__).parent / "fixtures" / "csn_reference.pt"
CLIP_SHAPE = (2, 3, 4, 40, 40)   # (B, 3, T, H, W): batch 2 so train-mode BatchNorm has statistics to take
CONFIGS = {  # name -> create_csn arguments as src/header/models/csn.py takes them (stem_pool "max" | None)
    "csn_tiny": {"model_depth": 50, "stem_dim_out": 8, "stem_pool": "max"},         # conf/backbone/csn_tiny.yaml
    "r152_no_pool": {"model_depth": 152, "stem_dim_out": 2, "stem_pool": None},     # the deepest stages, no pool
}
LAYOUT_STEM = 2


def build_reference(model_depth: int, stem_dim_out: int, stem_pool: str | None) -> nn.Module:
    """create_csn as src/header/models/csn.py used to call it (its 2-way head is dropped from the state below)."""
    # Imported here: the test imports this script's helpers and must not need pytorchvideo.
    from pytorchvideo.models.csn import create_csn

    return create_csn(model_depth=model_depth, stem_dim_out=stem_dim_out,
                      stem_pool=nn.MaxPool3d if stem_pool == "max" else None, model_num_class=2)


def randomise(state: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Every float tensor redrawn around sensible values (activations stay O(1) through 50 blocks), on the grid."""
    def draw(like: torch.Tensor, low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(like.shape, generator=generator)

    out = {}
    for key, value in state.items():
        if not value.is_floating_point():
            out[key] = torch.full_like(value, 7)                                    # num_batches_tracked
            continue
        leaf = key.rsplit(".", 1)[1]
        if leaf == "weight" and value.ndim == 5:                                    # convolutions: He-normal
            fan_in = value[0].numel()
            drawn = torch.randn(value.shape, generator=generator) * (2.0 / fan_in) ** 0.5
        elif leaf == "weight":                                                      # BatchNorm scale
            drawn = draw(value, 0.1, 0.3) if ".norm_c." in key else draw(value, 0.5, 1.5)
        elif leaf in ("bias", "running_mean"):
            drawn = draw(value, -0.2, 0.2)
        elif leaf == "running_var":
            drawn = draw(value, 0.5, 2.0)
        else:
            raise ValueError(f"{key}: no rule to randomise it")
        out[key] = on_grid(drawn)
    return out


def quantise(value: torch.Tensor) -> tuple[torch.Tensor, float]:
    """value ~ int8 x scale, the scale a power of two; exact for a value already on the grid (`on_grid`)."""
    peak = value.abs().max().item()
    scale = 2.0 ** math.ceil(math.log2(peak / 127)) if peak > 0 else 1.0
    return (value.float() / scale).round().clamp(-127, 127).to(torch.int8), scale


def on_grid(value: torch.Tensor) -> torch.Tensor:
    q, scale = quantise(value)
    return q.float() * scale


def flat_state(state: dict[str, torch.Tensor]) -> dict:
    quantised = [quantise(v) for v in state.values()]
    return {"names": list(state), "shapes": [list(v.shape) for v in state.values()],
            "scales": [scale for _, scale in quantised], "flat": torch.cat([q.flatten() for q, _ in quantised])}


def unflatten_state(stored: dict) -> dict[str, torch.Tensor]:
    """-> float32 state dict (num_batches_tracked int64, as BatchNorm keeps it)."""
    sizes = [torch.Size(shape).numel() for shape in stored["shapes"]]
    state = {}
    for name, shape, scale, chunk in zip(stored["names"], stored["shapes"], stored["scales"],
                                         stored["flat"].split(sizes)):
        value = chunk.float().reshape(shape) * scale
        state[name] = value.long() if name.endswith("num_batches_tracked") else value
    return state


def backbone_forward(net: nn.Module, clip: torch.Tensor) -> torch.Tensor:
    x = clip
    for block in list(net.blocks)[:-1]:                                             # blocks.5 = the head
        x = block(x)
    return x


def reference_entry(config: dict, clip: torch.Tensor, seed: int) -> dict:
    torch.manual_seed(seed)
    net = build_reference(**config)
    backbone_state = {k: v for k, v in net.state_dict().items() if not k.startswith("blocks.5.")}
    state = randomise(backbone_state, torch.Generator().manual_seed(seed))
    net.load_state_dict(state, strict=False)                                        # the head keeps its init
    with torch.no_grad():
        eval_output = backbone_forward(net.eval(), clip)
        train_output = backbone_forward(net.train(), clip)                         # batch statistics
    stored = flat_state(state)
    assert all(torch.equal(a, b) for a, b in zip(unflatten_state(stored).values(), state.values())), "not exact"
    return {**config, "state": stored, "eval_output": eval_output, "train_output": train_output}


def layouts() -> dict[int, dict[str, list[int]]]:
    """depth -> {parameter / buffer name: shape} of create_csn's backbone at stem width LAYOUT_STEM, for the depths
    no config above has (their names and shapes are in their states)."""
    covered = {config["model_depth"] for config in CONFIGS.values()}
    return {depth: {k: list(v.shape) for k, v in build_reference(depth, LAYOUT_STEM, "max").state_dict().items()
                    if not k.startswith("blocks.5.")}
            for depth in (50, 101, 152) if depth not in covered}


def seeded_init(seed: int = 3, draws: int = 8) -> dict:
    """create_csn's random init of csn_tiny from `seed`: every backbone tensor's sum (float64: a changed draw shows)
    and the next `draws` numbers of torch's generator after the build (the head it builds and drops draws too)."""
    torch.manual_seed(seed)
    net = build_reference(**CONFIGS["csn_tiny"])
    after = torch.rand(draws)
    sums = {k: v.double().sum().item() for k, v in net.state_dict().items() if not k.startswith("blocks.5.")}
    return {"seed": seed, "sums": sums, "draws_after": after}


def main() -> int:
    import pytorchvideo

    torch.set_num_threads(1)  # the outputs' last bits follow the summation order: one thread, as the test compares

    clip, clip_scale = quantise(torch.randn(CLIP_SHAPE, generator=torch.Generator().manual_seed(0)))
    fixture = {
        "meta": {"made_by": "python -m tests.header.make_csn_fixture", "pytorchvideo": pytorchvideo.__version__,
                 "torch": str(torch.__version__)},
        "clip": clip, "clip_scale": clip_scale,                                     # clip = int8 x scale
        "configs": {name: reference_entry(config, clip.float() * clip_scale, seed)
                    for seed, (name, config) in enumerate(CONFIGS.items())},
        "layout_stem_dim_out": LAYOUT_STEM,
        "layouts": layouts(),
        "seeded_init": seeded_init(),
    }
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    torch.save(fixture, FIXTURE)
    print(f"wrote {FIXTURE} ({FIXTURE.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
