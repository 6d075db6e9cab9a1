"""task=clip `python -m src.export`: the run's video -> class-logits model, (B, V, T, 3, S, S) normalised views ->
logits (B, C), the input src.predict (prediction.py) hands the model.

The class text features are computed once, here, and stored in the exported file as a constant: after training
the text side depends on nothing but the learned prompts, so the deployed model runs only the image side (as
src.predict does, which also encodes them once). A method whose text features depend on the video (stt) keeps its
text tower in the graph. The parity inputs are videos of the run's dataset sampled and cropped as src.predict does.
"""
import logging
from pathlib import Path

import torch
from torch import Tensor, nn

from src.clip.data.index import read_index
from src.clip.models.classifier import ClipVideoClassifier
from src.clip.prediction import PredictionVideos, evaluation_views
from src.clip.run_loading import load_clip_run
from src.core.errors import UserError
from src.core.export_files import ExportModel, random_inputs, write_export

log = logging.getLogger(__name__)


class FixedTextClassifier(nn.Module):
    """video (B, V, T, 3, S, S) -> logits (B, C), with the class text features stored as a buffer."""

    def __init__(self, model: ClipVideoClassifier):
        super().__init__()
        self.model = model.eval()
        with torch.no_grad():
            text = None if model.text_features_depend_on_video else model.class_text_features().detach().clone()
        self.register_buffer("text_features", text)

    def forward(self, video: Tensor) -> Tensor:
        return self.model(video, self.text_features)


def export_clip(cfg: dict) -> dict:
    run = load_clip_run(str(cfg["run"]), Path(cfg["paths"]["models_dir"]))
    data, backbone = run.config["dataset"], run.config["backbone"]
    inputs, source = parity_inputs(data, backbone, cfg["parity"]["num_inputs"], Path(cfg["paths"]["cache_dir"]))
    details = {"mean": list(backbone["mean"]), "std": list(backbone["std"]), "num_frames": data["num_frames"],
               "image_size": backbone["image_size"], "threshold": None, "class_names": list(run.class_names)}
    model = ExportModel(net=FixedTextClassifier(run.module.model.float().cpu()), inputs=inputs, source=source,
                        run_dir=run.checkpoint.parent, checkpoint=run.checkpoint, layout="B,V,T,3,H,W",
                        details=details)
    return write_export(cfg, model)


def parity_inputs(data: dict, backbone: dict, count: int, cache_dir: Path | None) -> tuple[Tensor, str]:
    """(count, V, T, 3, S, S): the first videos of the run's validation split (else test, else train) sampled and
    cropped as src.predict does, or seeded random ones when the dataset is gone or none of them decodes.
    `cache_dir`: paths.cache_dir, where the dataset's index may be kept (a Kinetics-size scan takes minutes)."""
    size = backbone["image_size"]
    views = data["num_temporal_views"] * data["num_spatial_views"]
    # As src/clip/prediction.py's predict_clip: centred views, no augmentation.
    sampler, transform = evaluation_views(data, backbone)
    try:
        split, records = _first_split(read_index(data, cache_dir=cache_dir))
        items = PredictionVideos([Path(r.path) for r in records[:count]], sampler, transform)
        videos = [item["video"] for item in (items[i] for i in range(len(items))) if "video" in item]
        if not videos:
            raise UserError(f"no video of dataset.root={data['root']} decodes")
    except UserError as err:
        log.warning("parity check on random inputs: %s", err)
        shape = (views, data["num_frames"], 3, size, size)
        return random_inputs(count, shape), f"random normal inputs, seed 0 (the run's data is gone: {err})"
    return torch.stack(videos), f"the first {len(videos)} videos of the {split} split of dataset.root={data['root']}"


def _first_split(index) -> tuple[str, list]:
    """(name, records) of the validation split, else the test split, else the train split: the first with videos."""
    for name, records in (("val", index.val), ("test", index.test), ("train", index.train)):
        if records:
            return name, list(records)
    raise UserError("the dataset's index lists no videos")
