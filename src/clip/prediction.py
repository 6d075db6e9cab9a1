"""task=clip `python -m src.predict run=<clip run> inputs=<videos> top_k=5` (or `method=zero_shot` without a run,
class names from `dataset=` or `classes=[...]`).

Each video is sampled and cropped exactly as the run evaluates (its num_frames, frame_interval, temporal and
spatial views; logits averaged over views by the model), batched across files by a DataLoader; the class text
features are encoded once. A video that cannot be decoded is listed with its error; the others still run.
"""
import logging
from pathlib import Path

import pytorch_lightning as pl
import torch
from rich.progress import Progress
from torch.utils.data import DataLoader, Dataset

from src.clip.data.class_names import prompt_names
from src.clip.data.index import read_index
from src.clip.data.reader import VideoReader
from src.clip.data.sampler import FrameSampler
from src.clip.data.transforms import VideoTransform
from src.clip.models.backbone import require_clip_backbone
from src.clip.module import ClipVideoModule
from src.clip.run_loading import clip_export_target, load_clip_run, resolve_run_dir
from src.core.errors import BadVideoError, UserError
from src.core.inference_engine import engine_settings, inference_engine
from src.core.prediction_io import print_table, resolve_device, write_predictions

log = logging.getLogger(__name__)

COLUMNS = ["path", "rank", "class", "prob", "error"]


class PredictionVideos(Dataset):
    """Items: {"i", "video": (V, T, 3, S, S)} or {"i", "error": reason} for a video that cannot be decoded."""

    def __init__(self, files: list[Path], sampler: FrameSampler, transform: VideoTransform):
        self.files, self.sampler, self.transform = files, sampler, transform

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> dict:
        try:
            with VideoReader(self.files[i]) as video:
                indices = self.sampler.indices(video.num_frames, False, None)  # (Vt, T), centred: no randomness
                decoded = video.read(indices)
        except BadVideoError as error:
            return {"i": i, "error": str(error)}
        views = self.transform(decoded.frames)[:, torch.from_numpy(decoded.inverse)]  # (S, Vt, T, 3, s, s)
        return {"i": i, "video": views.transpose(0, 1).flatten(0, 1)}                 # (Vt*S, T, 3, s, s)


def load_model(cfg: dict) -> tuple[ClipVideoModule, dict, list[str]]:
    """(module in eval mode, config for sampling, class names): a run's, or zero-shot CLIP's."""
    if cfg["run"] is not None:
        run = load_clip_run(str(cfg["run"]), Path(cfg["paths"]["models_dir"]))
        return run.module, run.config, run.class_names
    if cfg["method"]["name"] != "zero_shot":
        raise UserError(f"run= is required for method={cfg['method']['name']}: give a trained run "
                        "('method/dataset/run_id' or its folder), or use method=zero_shot without a run")
    require_clip_backbone(cfg["backbone"])
    names = list(cfg["classes"]) if cfg["classes"] else \
        prompt_names(read_index(cfg["dataset"], cache_dir=Path(cfg["paths"]["cache_dir"])).class_names)
    pl.seed_everything(cfg["seed"], workers=True)  # a random-init backbone (clip_tiny) is reproducible
    return ClipVideoModule.from_config(cfg, names).eval(), cfg, names


def evaluation_views(data: dict, backbone: dict) -> tuple[FrameSampler, VideoTransform]:
    """How a run sees a video outside training: centred temporal and spatial views, no augmentation, no flip."""
    sampler = FrameSampler(data["num_frames"], data["num_temporal_views"], data["frame_interval"])
    transform = VideoTransform(train=False, augment=False, image_size=backbone["image_size"], mean=backbone["mean"],
                               std=backbone["std"], num_spatial_views=data["num_spatial_views"],
                               crop_scale=data["crop_scale"], color_jitter=data["color_jitter"], flip_prob=0.0)
    return sampler, transform


def predict_clip(cfg: dict, files: list[Path], out_dir: Path) -> list[dict]:
    module, config, names = load_model(cfg)
    device = resolve_device(str(cfg["device"]))
    module = module.to(device)
    with torch.inference_mode():  # the class text features, encoded once (the export holds them already)
        text = None if module.model.text_features_depend_on_video else module.model.class_text_features()
    target = clip_export_target(resolve_run_dir(str(cfg["run"]), Path(cfg["paths"]["models_dir"]))) \
        if cfg["run"] is not None else None
    engine = inference_engine(engine_settings(cfg), lambda videos: module.model(videos, text), device, target, "")
    data, backbone = config["dataset"], config["backbone"]
    sampler, transform = evaluation_views(data, backbone)
    loader = DataLoader(PredictionVideos(files, sampler, transform), batch_size=cfg["batch_size"],
                        num_workers=cfg["num_workers"], collate_fn=list)
    top_k = min(int(cfg["top_k"]), len(names))
    records: list[dict] = [{}] * len(files)
    with torch.inference_mode(), Progress(disable=not cfg["progress"], transient=True) as progress:
        task = progress.add_task("predicting", total=len(files))
        for batch in loader:
            for item in (b for b in batch if "error" in b):
                log.warning("cannot decode %s: %s", files[item["i"]], item["error"])
                records[item["i"]] = {"path": str(files[item["i"]]), "error": item["error"], "top_k": []}
            good = [b for b in batch if "video" in b]
            if good:
                videos = torch.stack([b["video"] for b in good])             # (B, V, T, 3, S, S)
                probs = engine(videos).float().softmax(-1).cpu()              # (B, C)
                values, indices = probs.topk(top_k, dim=-1)
                for item, vals, idx in zip(good, values.tolist(), indices.tolist()):
                    records[item["i"]] = {"path": str(files[item["i"]]), "error": "", "top_k": [
                        {"class": names[c], "prob": round(p, 6)} for c, p in zip(idx, vals)]}
            progress.advance(task, len(batch))
    _write(records, out_dir)
    return records


def _write(records: list[dict], out_dir: Path) -> None:
    rows = []
    for record in records:
        if record["error"]:
            rows.append({"path": record["path"], "rank": None, "class": None, "prob": None, "error": record["error"]})
        rows += [{"path": record["path"], "rank": rank, "class": top["class"], "prob": top["prob"], "error": ""}
                 for rank, top in enumerate(record["top_k"], start=1)]
    write_predictions(out_dir, rows, records, COLUMNS)
    print_table(f"predictions -> {out_dir}", ["file", "top classes"],
                [[Path(r["path"]).name, f"error: {r['error']}" if r["error"] else
                  ", ".join(f"{t['class']} {t['prob']:.2f}" for t in r["top_k"])] for r in records])
