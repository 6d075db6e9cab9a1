"""method=vifi_clip: both CLIP towers fine-tuned. It learns on the demo set, trains exactly the parameters
`method.train_blocks` names, keeps them in the run's learned state (evaluate gives the run's own figures back),
follows the ViFi-CLIP recipe (lr scaled to the batch, warm-up + cosine per step) and refuses the feature cache."""
import json
import math
import os
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from src.clip.lr_schedule import cosine_schedule
from src.clip.models.backbone import load_clip
from src.clip.models.registry import build_method

DEMO_LR = 1.0e-2   # at the recipe's reference batch 256: 3.1e-4 at the demo's batch 8 (a random-init CLIP)


def _error_line(result) -> str:
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr[-3000:]
    return lines[0]


def _demo(synthetic_root: Path, *extra: str) -> list[str]:
    return ["experiment=demo", "method=vifi_clip", f"dataset.root={synthetic_root}", "dataset.num_frames=4",
            "dataset.num_workers=0", "~callbacks.progress_bar", *extra]


@pytest.fixture(scope="module")
def demo_run(synthetic_root, tmp_path_factory):
    """10 epochs of vifi_clip on the demo's 12-layer tiny CLIP (~40 s), 4 frames, 1 warm-up epoch."""
    from src.train import train
    from tests.composed import compose_config

    tmp = tmp_path_factory.mktemp("vifi")
    environ, threads = dict(os.environ), torch.get_num_threads()
    try:  # train() sets the run folder's environment variable and torch's threads: put them back
        train(compose_config(_demo(synthetic_root, f"optimizer.lr={DEMO_LR}", "scheduler.warmup_epochs=1",
                                   "trainer.max_epochs=10", "run_id=demo"), tmp))
    finally:
        os.environ.clear()
        os.environ.update(environ)
        torch.set_num_threads(threads)
    return tmp, tmp / "models" / "vifi_clip" / "synthetic" / "demo"


def test_learns_the_demo_set_well_above_chance(demo_run):
    _, run = demo_run
    results = json.loads((run / "validation_results.json").read_text())
    chance = 1 / len(results["class_names"])                      # 7 classes: 0.14
    # Measured 0.50 on 14 validation videos (seed 0); 0.35 = 5 of 14 is 2.5x chance.
    assert results["top1"] >= 0.35 > 2 * chance, results["top1"]
    log = json.loads((run / "training_log.json").read_text())
    assert log[-1]["train_loss"] < 0.5 * log[0]["train_loss"]


def test_learning_rate_is_scaled_to_the_batch_and_warms_up_per_step(demo_run):
    _, run = demo_run
    log = json.loads((run / "training_log.json").read_text())
    steps = log[0]["optimizer_steps"]                              # per epoch (batch 8, no accumulation)
    base, floor = DEMO_LR * 8 / 256, 8.0e-8 * 8 / 256              # lr and eta_min scaled by 8 / 256
    total = 10 * steps
    for epoch in (0, 4):                                           # the warm-up has ended after epoch 0
        step = (epoch + 1) * steps
        expected = floor + (base - floor) * 0.5 * (1 + math.cos(math.pi * step / total))
        assert log[epoch]["lr"] == pytest.approx(expected, rel=1e-6)


def test_checkpoint_holds_the_trained_clip_and_evaluate_gives_the_runs_test_figures_back(demo_run, cli):
    tmp, run = demo_run
    state = torch.load(run / "checkpoint.pth", map_location="cpu", weights_only=True)["state_dict"]
    assert "clip.visual.transformer.resblocks.0.attn.in_proj_weight" in state and "clip.ln_final.weight" in state
    assert "clip.logit_scale" in state and not any(k.startswith("clip.token_embedding") for k in state)
    own = json.loads((run / "test_results.json").read_text())
    result = cli(["run=vifi_clip/synthetic/demo", "trainer=cpu", "dataset.num_workers=0", "~callbacks.progress_bar"],
                 tmp, module="src.evaluate")
    assert result.returncode == 0, result.stderr[-3000:]
    (same,) = [json.loads(p.read_text()) for p in (run / "eval").glob("*-test-*.json")]
    # The same logits: the fit's test (best.ckpt into the live module) and evaluate (checkpoint.pth into a CLIP
    # rebuilt from the seed) agree on every prediction and on the loss.
    assert same["confusion_matrix"] == own["confusion_matrix"] and same["top1"] == own["top1"]
    assert same["loss"] == pytest.approx(own["loss"], abs=1e-6)
    # ... and checkpoint.pth's CLIP tensors are the trained ones (the seed's fresh CLIP differs), loaded back
    import pytorch_lightning as pl

    from src.clip.run_loading import load_clip_run, read_run_config

    config = read_run_config(run)
    pl.seed_everything(config["seed"])
    fresh, _ = load_clip(config["backbone"])
    rebuilt = load_clip_run(str(run), tmp / "models").module.model.state_dict()
    for key in ("clip.visual.proj", "clip.text_projection", "clip.transformer.resblocks.11.mlp.c_fc.weight"):
        assert torch.equal(rebuilt[key], state[key]) and not torch.equal(fresh.state_dict()[key[5:]], state[key])


def test_continue_from_the_run_validates_to_its_best_epochs_figures(demo_run, cli, synthetic_root):
    """continue_from loads the trained CLIP tensors into a new run: validating it gives the run's best val pass."""
    tmp, run = demo_run
    best = json.loads((run / "validation_results.json").read_text())
    result = cli(_demo(synthetic_root, "continue_from=vifi_clip/synthetic/demo", "validate_only=true",
                       "run_id=again"), tmp)
    assert result.returncode == 0, result.stderr[-3000:]
    again = json.loads((run.parent / "again" / "validation_results.json").read_text())
    assert again["confusion_matrix"] == best["confusion_matrix"] and again["top1"] == best["top1"]
    assert again["loss"] == pytest.approx(best["loss"], abs=1e-6)
    card = (run.parent / "again" / "MODEL_CARD.md").read_text()   # a validate-only run has its config and card too
    assert json.loads((run.parent / "again" / "config.json").read_text())["validate_only"] is True
    assert "vifi_clip" in card and f"{best['top1']:.4f}" in card


def test_predict_with_the_run_scores_its_test_videos_as_the_runs_test_pass(demo_run, cli, synthetic_root):
    """src.predict rebuilds the trained CLIP too: its top-1 over the test-list videos is the run's test top-1."""
    import pandas as pd

    from src.clip.data.class_names import prompt_name

    tmp, run = demo_run
    listed = (synthetic_root / "ucfTrainTestlist" / "testlist01.txt").read_text().split()
    folder = tmp / "test_videos"
    folder.mkdir()
    for relative in listed:
        (folder / Path(relative).name).symlink_to(synthetic_root / relative)
    result = cli(["run=vifi_clip/synthetic/demo", f"inputs={folder}", f"output={tmp}/predicted", "top_k=1",
                  "progress=false"], tmp, module="src.predict")
    assert result.returncode == 0, result.stderr[-3000:]
    table = pd.read_csv(tmp / "predicted" / "predictions.csv")
    truth = {Path(r).name: prompt_name(r.split("/")[0]) for r in listed}
    assert len(table) == len(listed) and table["error"].isna().all()
    top1 = sum(truth[Path(p).name] == c for p, c in zip(table["path"], table["class"])) / len(listed)
    assert top1 == pytest.approx(json.loads((run / "test_results.json").read_text())["top1"], abs=1e-6)


def _model(train_blocks, tmp_path: Path, grad_checkpointing: bool = False):
    from tests.composed import compose_config

    cfg = compose_config(["backbone=clip_tiny_deep", "method=vifi_clip", f"method.train_blocks={train_blocks}",
                          f"method.grad_checkpointing={grad_checkpointing}", "method.text_chunk=2"], tmp_path)
    torch.manual_seed(0)
    clip, tokenizer = load_clip(OmegaConf.to_container(cfg.backbone))
    return build_method(OmegaConf.to_container(cfg.method), clip, tokenizer, ["jump", "run", "swim"], 4)


def _one_step(model) -> set[str]:
    """One AdamW step on a random batch; the names (in CLIP) of the parameters that changed."""
    before = {k: v.detach().clone() for k, v in model.clip.named_parameters()}
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    torch.manual_seed(1)
    loss = F.cross_entropy(model(torch.randn(2, 1, 4, 3, 32, 32)), torch.tensor([0, 2]))
    loss.backward()
    optimizer.step()
    return {k for k, v in model.clip.named_parameters() if not torch.equal(v, before[k])}


def test_every_clip_parameter_but_the_token_table_trains_in_both_towers(tmp_path):
    model = _model("null", tmp_path)
    changed = _one_step(model)
    names = {k for k, _ in model.clip.named_parameters()}
    assert changed == names - {"token_embedding.weight"}
    assert {"visual.transformer.resblocks.0.mlp.c_fc.weight", "transformer.resblocks.0.mlp.c_fc.weight"} <= changed
    assert set(model.trainable_state_dict()) == {f"clip.{k}" for k in changed}


@pytest.mark.parametrize("grad_checkpointing", [False, True])
def test_train_blocks_1_trains_only_the_last_block_of_each_tower_and_the_heads(tmp_path, grad_checkpointing):
    model = _model(1, tmp_path, grad_checkpointing)
    changed = _one_step(model)
    heads = {"visual.ln_post.weight", "visual.ln_post.bias", "visual.proj", "ln_final.weight", "ln_final.bias",
             "text_projection", "logit_scale"}
    last = {k for k, _ in model.clip.named_parameters()
            if k.startswith(("visual.transformer.resblocks.11.", "transformer.resblocks.11."))}
    assert len(last) == 24 and changed == last | heads
    assert set(model.trainable_state_dict()) == {f"clip.{k}" for k in changed}


def test_chunked_text_encoding_equals_open_clips_encode_text(tmp_path):
    model = _model("null", tmp_path).eval()
    with torch.no_grad():
        ours = model.class_text_features()                         # 2 classes per chunk, cut after the EOS
        tokens = model.prompt_tokens.new_zeros(3, 77)
        tokens[:, :model.prompt_tokens.shape[1]] = model.prompt_tokens
        reference = F.normalize(model.clip.encode_text(tokens), dim=-1)
    assert torch.allclose(ours, reference, atol=1e-5)


def test_the_recipe_is_vifi_clips(tmp_path):
    from tests.composed import compose_config

    cfg = OmegaConf.to_container(compose_config(["method=vifi_clip"], tmp_path), resolve=True)
    assert cfg["optimizer"]["lr"] == 8e-6
    assert cfg["optimizer"]["weight_decay"] == 1e-3 and cfg["task"]["lr_reference_batch"] == 256
    assert cfg["scheduler"]["warmup_epochs"] == 5 and cfg["scheduler"]["eta_min"] == 8e-8
    assert cfg["task"]["scheduler_interval"] == "step" and cfg["trainer"]["gradient_clip_val"] is None
    assert cfg["trainer"]["max_epochs"] == 10 and cfg["dataset"]["num_frames"] == 32
    assert cfg["trainer"]["precision"] == "32-true"                # bf16-mixed comes with trainer=gpu
    gpu = OmegaConf.to_container(compose_config(["method=vifi_clip", "trainer=gpu"], tmp_path), resolve=True)
    assert gpu["trainer"]["precision"] == "bf16-mixed"


def test_warmup_then_cosine_follows_timms_schedule_without_warmup_prefix():
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([param], lr=1.0)
    scheduler = cosine_schedule(optimizer, T_max=10, eta_min=0.01, warmup_epochs=2, steps_per_epoch=5)
    lrs = []
    for _ in range(50):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs[0] == 0.0 and lrs[5] == pytest.approx(0.5)          # linear from 0 over 10 steps
    assert lrs[10] == pytest.approx(0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * 10 / 50)))  # cosine from step 0
    assert lrs[-1] == pytest.approx(0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * 49 / 50)))


def test_feature_cache_is_refused_before_anything_is_written(cli, synthetic_root, tmp_path):
    line = _error_line(cli(_demo(synthetic_root, "dataset.feature_cache=auto"), tmp_path))
    assert "dataset.feature_cache=auto" in line and "vifi_clip" in line and "off" in line
    line = _error_line(cli(_demo(synthetic_root), tmp_path, module="data_tools.cache_features"))
    assert "vifi_clip" in line and "cannot be cached" in line
    assert not (tmp_path / "models").exists() and not (tmp_path / "outputs").exists()
    assert not (tmp_path / "cache" / "features").exists()


def _one_accumulated_step(compose, tmp_path, share: bool) -> tuple[dict, dict, int]:
    """(learned tensors before, after one SGD step over 2 accumulated micro-batches, text-tower passes)."""
    import pytorch_lightning as pl

    from src.clip.module import ClipVideoModule

    cfg = OmegaConf.to_container(compose(
        ["backbone=clip_tiny", "method=vifi_clip", "dataset=synthetic", "dataset.num_frames=2",
         f"task.text_once_per_step={str(share).lower()}",
         "optimizer._target_=torch.optim.SGD",                                   # SGD: update = lr x gradient
         "optimizer.lr=1.0", "scheduler.warmup_epochs=0"], tmp_path), resolve=True)   # (warm-up: step 0 has lr 0)
    torch.manual_seed(0)
    module = ClipVideoModule.from_config(cfg, ["red square", "green circle", "moving left"])
    before = {k: v.detach().clone() for k, v in module.model.trainable_state_dict().items()}
    passes, encode = [], module.model.class_text_features
    module.model.class_text_features = lambda: (passes.append(1), encode())[1]
    generator = torch.Generator().manual_seed(1)
    batches = [{"video": torch.randn(2, 1, 2, 3, 32, 32, generator=generator),
                "label": torch.randint(0, 3, (2,), generator=generator), "index": torch.arange(2),
                "num_bad": torch.tensor(0)} for _ in range(2)]
    trainer = pl.Trainer(accelerator="cpu", max_steps=1, accumulate_grad_batches=2, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         limit_val_batches=0)
    trainer.fit(module, train_dataloaders=torch.utils.data.DataLoader(batches, batch_size=None))
    return before, module.model.trainable_state_dict(), len(passes)


def test_text_once_per_step_gives_the_per_batch_gradients_of_both_towers(compose, tmp_path):
    """task.text_once_per_step stays on for vifi_clip: the text tower's weights only change at the optimizer step,
    so one encoding per step with the summed gradient is the same step (fp32)."""
    before, shared, shared_passes = _one_accumulated_step(compose, tmp_path, True)
    _, per_batch, per_batch_passes = _one_accumulated_step(compose, tmp_path, False)
    assert (shared_passes, per_batch_passes) == (1, 2)
    for key in ("clip.transformer.resblocks.1.mlp.c_fc.weight", "clip.visual.proj", "clip.logit_scale"):
        assert (per_batch[key] - before[key]).abs().max() > 0, key
    for key in before:
        assert torch.allclose(shared[key], per_batch[key], atol=1e-6, rtol=1e-5), key
