"""Pre-build task=clip's decoded-frame store outside a training run (library code of data_tools/cache_frames.py).

The same config as `src.train`: the videos it stores are the ones that run reads (its train, val and test splits,
after the few-shot draws), with the store settings it would use. Videos that already have an entry are skipped, so
an interrupted build resumes; dataset.frame_store=write rebuilds every entry. Under torchrun each process builds
its share (RANK / WORLD_SIZE); on one process the DataLoader's dataset.num_workers workers build videos in parallel.
Afterwards `python -m src.train … dataset.frame_store=read` (or auto) reads the frames from the store.
"""
import os

from omegaconf import DictConfig, OmegaConf

from src.clip.data.datamodule import VideoDataModule
from src.clip.data.frame_store.fill import fill_store


def cache_frames(cfg: DictConfig) -> dict:
    """Fill the store for the configured run's videos; returns the fill counts."""
    config = OmegaConf.to_container(cfg, resolve=True)
    dataset = config["dataset"]
    rebuild = dataset["frame_store"] == "write"
    dataset["frame_store"] = "auto"  # this tool's whole point is to write the store (off and read included)
    datamodule = VideoDataModule(dataset=dataset, backbone=config["backbone"], seed=cfg.seed)
    datamodule.prepare_data()
    store = datamodule.frames.store
    stats = fill_store(store, [v for videos in datamodule.videos_by_split().values() for v in videos],
                       num_workers=dataset["num_workers"], rank=int(os.environ.get("RANK", "0")),
                       world_size=int(os.environ.get("WORLD_SIZE", "1")), overwrite=rebuild)
    print(f"frame store: {stats} -> {store.dir}")
    return stats
