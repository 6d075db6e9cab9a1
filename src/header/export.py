"""task=header `python -m src.export`: the whole Header Net, (B, 3, T, S, S) normalised clips -> logits (B, 2), the
input src.detect (detection/scoring.py) and src.predict (prediction.py) hand the net. The parity inputs are clips
of the run's validation CSV read and transformed as src.predict reads a .npy clip."""
import logging
from pathlib import Path

import torch
from torch import Tensor
from torchvision import tv_tensors

from src.core.errors import BadVideoError, UserError
from src.core.export_files import ExportModel, random_inputs, write_export
from src.header.data.dataset import read_clip_frames, read_header_csv
from src.header.data.transforms import build_clip_transform
from src.header.run_loading import load_header_run, resolve_header_run_dir

log = logging.getLogger(__name__)

CLASS_NAMES = ["no_header", "header"]   # logit order: label 0, label 1 (src/header/data/dataset.py)


def export_header(cfg: dict) -> dict:
    report_dir = Path(cfg["paths"]["report_dir"])
    run = load_header_run(str(cfg["run"]), report_dir)
    data, backbone = run.config["dataset"], run.config["backbone"]
    inputs, source = parity_inputs(data, backbone, cfg["parity"]["num_inputs"])
    details = {"mean": list(backbone["mean"]), "std": list(backbone["std"]), "num_frames": data["num_frames"],
               "image_size": data["input_size"], "threshold": run.threshold, "class_names": CLASS_NAMES}
    model = ExportModel(net=run.net.float().cpu(), inputs=inputs, source=source,
                        run_dir=resolve_header_run_dir(str(cfg["run"]), report_dir), checkpoint=run.checkpoint,
                        layout="B,3,T,H,W", details=details)
    return write_export(cfg, model)


def parity_inputs(data: dict, backbone: dict, count: int) -> tuple[Tensor, str]:
    """(count, 3, T, S, S): the first clips of dataset.val_csv as src.predict reads them, or seeded random ones
    when the CSV or its clips are gone."""
    transform = build_clip_transform(input_size=data["input_size"], augment=False, flip_prob=0.0, color_jitter={},
                                     normalise=True, mean=backbone["mean"], std=backbone["std"])
    csv = data.get("val_csv")
    try:
        if not csv:
            raise UserError("the run's config names no dataset.val_csv")
        table = read_header_csv(Path(csv), check_clips=False, max_bad_fraction=1.0, name="dataset.val_csv")
        files = table.rows["file"].tolist()[:count]
        clips = [_clip(Path(f), data["num_frames"], transform) for f in files]
    except (UserError, BadVideoError) as err:
        log.warning("parity check on random inputs: %s", err)
        shape = (3, data["num_frames"], data["input_size"], data["input_size"])
        return random_inputs(count, shape), f"random normal inputs, seed 0 (the run's data is gone: {err})"
    return torch.stack(clips), f"the first {len(clips)} clips of dataset.val_csv={csv}"


def _clip(path: Path, num_frames: int, transform) -> Tensor:
    frames = torch.from_numpy(read_clip_frames(path, num_frames)).permute(0, 3, 1, 2)         # (T, 3, H, W) uint8
    return transform(tv_tensors.Video(frames)).as_subclass(torch.Tensor).permute(1, 0, 2, 3)  # (3, T, S, S)
