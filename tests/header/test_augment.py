"""src/header/data/augment.py: the fused per-clip colour map matches torchvision's operations, and device-side
augmentation draws what loader-side augmentation draws, the same for every frame of a clip."""
from types import SimpleNamespace

import pytest
import torch
from torchvision.transforms.v2 import functional as F

from src.core.errors import UserError
from src.header.data.augment import (
    GREY,
    augment_and_normalise,
    check_jitter,
    draw_clip_params,
    hue_matrices,
    identity_params,
)
from src.header.data.datamodule import HeaderDataModule
from src.header.data.transforms import BatchAugment, build_clip_transform
from tests.composed import section
from tests.header.clip_sets import write_clip_set

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
JITTER = {"brightness": 0.3, "contrast": 0.3, "saturation": 0.3, "hue": 0.1}
OPS = {0: F.adjust_brightness, 1: F.adjust_contrast, 2: F.adjust_saturation}
FACTORS = {0: "brightness", 1: "contrast", 2: "saturation"}


def _sequential_reference(clip: torch.Tensor, params: dict, i: int) -> torch.Tensor:
    """torchvision's operations one after the other (hue: our YIQ rotation), then Normalize: (3, T, H, W)."""
    x = clip.transpose(0, 1).float() / 255.0                                    # (T, 3, H, W)
    if params["flip"][i]:
        x = x.flip(-1)
    for op in params["order"][i].tolist():
        if op == 3:
            x = torch.einsum("ij,tjhw->tihw", hue_matrices(params["hue"][i:i + 1])[0].float(), x)
        else:
            x = OPS[op](x, float(params[FACTORS[op]][i]))
    return F.normalize(x, MEAN, STD).transpose(0, 1)


def test_fused_map_equals_torchvision_operations_in_the_drawn_order():
    torch.manual_seed(0)
    clips = torch.randint(90, 160, (12, 3, 4, 8, 8), dtype=torch.uint8)  # mid-range: no intermediate clamping
    params = draw_clip_params(12, flip_prob=0.5, jitter={k: 0.1 for k in JITTER})
    assert len({tuple(o) for o in params["order"].tolist()}) > 3 and 0 < int(params["flip"].sum()) < 12
    out = augment_and_normalise(clips, params, mean=MEAN, std=STD)
    for i in range(12):
        assert torch.allclose(out[i], _sequential_reference(clips[i], params, i), atol=1e-4), i


def test_identity_draws_only_normalise_and_the_end_clamps_to_the_pixel_range():
    clips = torch.randint(0, 256, (2, 3, 3, 5, 5), dtype=torch.uint8)
    plain = augment_and_normalise(clips, identity_params(2), mean=MEAN, std=STD)
    expected = (clips.float() / 255.0 - torch.tensor(MEAN)[:, None, None, None]) / torch.tensor(STD)[:, None, None, None]
    assert torch.allclose(plain, expected, atol=1e-5)
    bright = {**identity_params(2), "brightness": torch.full((2,), 3.0)}
    white = augment_and_normalise(torch.full((2, 3, 1, 2, 2), 200, dtype=torch.uint8), bright, mean=MEAN, std=STD)
    top = (1.0 - torch.tensor(MEAN)) / torch.tensor(STD)
    assert torch.allclose(white, top[None, :, None, None, None].expand_as(white), atol=1e-6)


def test_hue_rotation_keeps_luma_and_greys_and_turns_like_adjust_hue():
    from torchvision.transforms.v2.functional._color import _rgb_to_hsv

    assert torch.allclose(hue_matrices(torch.zeros(1))[0], torch.eye(3, dtype=torch.float64), atol=1e-9)
    matrix = hue_matrices(torch.tensor([0.4]))[0].float()
    assert torch.allclose(GREY @ matrix, GREY, atol=1e-5)                                  # luma unchanged
    assert torch.allclose(matrix @ torch.full((3,), 0.4), torch.full((3,), 0.4), atol=1e-5)  # greys stay grey
    colours = torch.tensor([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.8, 0.8, 0.1]]).T[:, :, None]
    ours = torch.einsum("ij,jhw->ihw", hue_matrices(torch.tensor([0.05]))[0].float(), colours).clamp(0, 1)
    turn = lambda img: (_rgb_to_hsv(img)[0] - _rgb_to_hsv(colours)[0] + 0.5) % 1.0 - 0.5  # noqa: E731
    assert torch.allclose(turn(F.adjust_hue(colours, 0.05)), torch.tensor(0.05), atol=1e-4)
    assert ((turn(ours) > 0.01) & (turn(ours) < 0.1)).all(), turn(ours)                 # same direction, similar size


def _ks_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Two-sample Kolmogorov-Smirnov statistic."""
    grid = torch.cat([a, b]).sort().values
    cdf = lambda x: torch.searchsorted(x.sort().values, grid, right=True).float() / len(x)  # noqa: E731
    return float((cdf(a) - cdf(b)).abs().max())


def _clip_summaries(videos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 3, T, S, S) outputs -> per-clip mean colour (N, 3) and whether the clip came out flipped (N,); and
    asserts every frame of a clip got the same augmentation (the input frames are identical)."""
    for video in videos:
        assert all(torch.equal(video[:, t], video[:, 0]) for t in range(video.shape[1])), "frames differ"
    colour = videos.mean(dim=(2, 3, 4))
    red = videos[:, 0, 0]                                                        # (N, S, S) of the first frame
    flipped = red[:, :, 0].mean(-1) > red[:, :, -1].mean(-1)  # the input's red is dark left, bright right
    return colour, flipped


def test_device_side_draws_the_loader_side_distribution_the_same_for_every_frame():
    n, frames = 300, 4
    ramp = torch.linspace(40, 220, 8).round().to(torch.uint8)                    # dark left -> bright right
    frame = torch.stack([ramp.expand(8, 8), (ramp.flip(0) * 0.5).to(torch.uint8).expand(8, 8),
                         torch.full((8, 8), 120, dtype=torch.uint8)])          # (3, 8, 8), coloured
    video = frame[None].expand(frames, 3, 8, 8).contiguous()                    # (T, 3, H, W): identical frames
    augment = dict(augment=True, flip_prob=0.3, color_jitter=JITTER, mean=MEAN, std=STD)
    loader_side = build_clip_transform(input_size=8, normalise=True, **augment)
    torch.manual_seed(0)
    on_loader = torch.stack([loader_side(video).transpose(0, 1) for _ in range(n)])   # (N, 3, T, S, S)
    uint8_batch = build_clip_transform(input_size=8, normalise=False, **augment)(video).transpose(0, 1)
    assert uint8_batch.dtype == torch.uint8
    torch.manual_seed(1)
    on_device = BatchAugment(**augment)(uint8_batch[None].expand(n, -1, -1, -1, -1).contiguous(), training=True)
    colour_loader, flip_loader = _clip_summaries(on_loader)
    colour_device, flip_device = _clip_summaries(on_device)
    for channel in range(3):
        assert colour_loader[:, channel].std() > 0.05                            # the jitter does vary the clips
        assert _ks_distance(colour_loader[:, channel], colour_device[:, channel]) < 0.15, channel
    assert abs(flip_loader.float().mean() - 0.3) < 0.08 and abs(flip_device.float().mean() - 0.3) < 0.08
    evaluation = BatchAugment(**augment)(uint8_batch[None], training=False)       # not training: normalise only
    plain = build_clip_transform(input_size=8, augment=False, flip_prob=0.0, color_jitter={}, mean=MEAN, std=STD,
                                 normalise=True)(video).transpose(0, 1)
    assert torch.allclose(evaluation[0], plain, atol=1e-5)


def test_datamodule_device_mode_hands_uint8_and_augments_after_transfer(tmp_path):
    csv = write_clip_set(tmp_path, num_clips=4, size=16, frames=4)
    cfg = {**section("dataset", ["task=header"]), "train_csv": str(csv), "val_csv": str(csv), "num_frames": 4, "input_size": 16, "augment": True,
           "augment_on": "device", "flip_prob": 0.5, "color_jitter": JITTER, "balanced_sampling": False,
           "batch_size": 4, "val_batch_size": 4, "num_workers": 0, "check_clips": True, "max_bad_fraction": 0.0}
    dm = HeaderDataModule(cfg, mean=MEAN, std=STD, seed=0)
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))                                    # outside a Trainer: one process
    dm.trainer = SimpleNamespace(training=True)
    assert batch["video"].dtype == torch.uint8 and batch["video"].shape == (4, 3, 4, 16, 16)
    out = dm.on_after_batch_transfer(dict(batch), 0)["video"]
    assert out.dtype == torch.float32 and out.shape == (4, 3, 4, 16, 16)
    val = next(iter(dm.val_dataloader()))["video"]                               # evaluation stays in the loader
    assert val.dtype == torch.float32 and torch.equal(dm.on_after_batch_transfer({"video": val}, 0)["video"], val)
    with pytest.raises(UserError, match="dataset.augment_on=gpu"):
        HeaderDataModule({**cfg, "augment_on": "gpu"}, mean=MEAN, std=STD, seed=0)


@pytest.mark.parametrize("jitter, match", [({"hue": 0.7}, "color_jitter.hue=0.7"), ({"gamma": 0.1}, "gamma"),
                                           ({"brightness": -0.1}, "color_jitter.brightness=-0.1")])
def test_bad_jitter_is_a_user_error(jitter, match):
    with pytest.raises(UserError, match=match):
        check_jitter(jitter)
