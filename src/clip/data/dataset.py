"""One video -> its views: sample frame indices, decode just those frames, transform; bad videos become None.

Item: {"video": (V, T, 3, S, S) float, "label": int, "index": int} with V = temporal views x spatial views,
temporal-major (view v = temporal view v // num_spatial x spatial crop v % num_spatial).
`collate_skip_bad` drops the None items of a batch and counts them.
"""
import logging
from collections.abc import Sequence

import torch
from torch.utils.data import Dataset

from src.clip.data.reader import VideoReader
from src.clip.data.record_rows import RecordRows
from src.clip.data.records import VideoRecord
from src.clip.data.sampler import FrameSampler
from src.clip.data.transforms import VideoTransform
from src.core.errors import BadVideoError
from src.core.item_seeding import ItemSeeds

log = logging.getLogger(__name__)


class VideoClipDataset(Dataset):
    def __init__(self, records: Sequence[VideoRecord], sampler: FrameSampler, transform: VideoTransform,
                 train: bool, seed: int, open_video=VideoReader):
        self.records = records if isinstance(records, RecordRows) else list(records)   # rows pickle cheaply
        # `with open_video(path) as video:` gives `num_frames` and `read(indices)`: a VideoReader or a frame-store
        # entry (src/clip/data/frame_source.py); either raises BadVideoError for a video that cannot be read.
        self.open_video = open_video
        self.sampler = sampler
        self.transform = transform
        self.train = train
        self.seed = seed
        # Draws keyed on (seed, epoch, index): the same in every worker and after a resume (src/core/item_seeding.py).
        self.seeds = ItemSeeds(seed)
        self._warned: set[str] = set()

    def __len__(self) -> int:
        return len(self.records)

    def set_epoch(self, epoch: int) -> None:
        self.seeds.set_epoch(epoch)

    def __getitem__(self, i: int) -> dict | None:
        record = self.records[i]
        with self.seeds.draws(i) as rng:
            try:
                with self.open_video(record.path) as video:
                    indices = self.sampler.indices(video.num_frames, self.train, rng)    # (Vt, T)
                    decoded = video.read(indices)
            except BadVideoError as error:
                if str(record.path) not in self._warned:             # once per video (and per worker)
                    self._warned.add(str(record.path))
                    log.warning("skipping a bad video: %s", error)
                return None
            views = self.transform(decoded.frames)                   # (S, N, 3, s, s): each unique frame once
        views = views[:, torch.from_numpy(decoded.inverse)]      # (S, Vt, T, 3, s, s)
        views = views.transpose(0, 1)                            # (Vt, S, T, 3, s, s): temporal-major
        video = views.reshape(-1, *views.shape[2:])              # (Vt*S, T, 3, s, s)
        return {"video": video, "label": record.label, "index": i}



def collate_skip_bad(batch: list[dict | None]) -> dict:
    """Stack the good items; `num_bad` counts the dropped ones. All bad -> tensors with a batch size of 0.

    Items carry pixels ("video", (V, T, 3, S, S)) or cached frame features ("features", (V, T, E)).
    """
    good = [item for item in batch if item is not None]
    num_bad = torch.tensor(len(batch) - len(good), dtype=torch.long)
    if not good:
        return {"video": torch.zeros(0, 0, 0, 3, 0, 0), "label": torch.zeros(0, dtype=torch.long),
                "index": torch.zeros(0, dtype=torch.long), "num_bad": num_bad}
    key = "features" if "features" in good[0] else "video"
    return {
        key: torch.stack([item[key] for item in good]),                            # (B, V, T, 3, S, S) | (B, V, T, E)
        "label": torch.tensor([item["label"] for item in good], dtype=torch.long),  # (B,)
        "index": torch.tensor([item["index"] for item in good], dtype=torch.long),  # (B,)
        "num_bad": num_bad,
    }
