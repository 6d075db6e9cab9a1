"""The loader baseline of benchmarks/loader.py: pytorchvideo's decode-the-whole-clip strategy, re-implemented.

pytorchvideo 0.1.5 (the common video pipeline, no longer a dependency here) loads a training clip as
`LabeledVideoDataset` + `EncodedVideoPyAV` do, which this file repeats step by step so that the published
"ours vs pytorchvideo" ratio stays comparable:
1. `EncodedVideo.from_path` reads the whole file into memory (io.BytesIO, via iopath) and opens that with PyAV;
2. `get_clip(start, end)` turns the times into pts (ceil, in the stream's time base), seeks to 1024 pts before the
   start (keyframe, backward), decodes every frame up to the end and keeps those in [start, end), then converts
   EVERY kept frame: `frame.to_rgb().to_ndarray()` -> torch, stacked to (C, T, H, W) float32 in 0..255;
   without a duration in the header it decodes the whole video first and filters after, as pytorchvideo does;
3. the transform subsamples T to the wanted frames evenly (as `UniformTemporalSubsample`), then resizes the short
   side + centre-crops and normalises (torchvision v2, the same output as our loader).
With one clip per video of the video's length (a "uniform" clip sampler of that duration) it decodes every frame
of every video, where our reader decodes only up to the sampled ones. pytorchvideo's IterableDataset splits a
RandomSampler's order between the workers; the map-style dataset below with shuffle=True does the same work.
"""
import io
import math

import av
import torch
import torchvision.transforms.v2 as v2

SEEK_MARGIN_PTS = 1024  # pytorchvideo's margin before the start pts (seeking is imprecise)


def decode_clip(path, start_sec: float, end_sec: float) -> torch.Tensor:
    """Frames with start <= time < end as (C, T, H, W) float32 0..255 (EncodedVideoPyAV.get_clip)."""
    with open(path, "rb") as file:
        data = io.BytesIO(file.read())
    with av.open(data) as container:
        stream = container.streams.video[0]
        first_pts = stream.start_time or 0
        start_pts = math.ceil(start_sec / stream.time_base) + first_pts
        end_pts = math.ceil(end_sec / stream.time_base) + first_pts
        # With a duration in the header pytorchvideo decodes [start, end) only; without one, the whole video.
        low, high = (start_pts, end_pts) if stream.duration is not None else (first_pts, math.inf)
        container.seek(max(low - SEEK_MARGIN_PTS, 0), any_frame=False, backward=True, stream=stream)
        frames = {}
        for frame in container.decode(video=0):
            if frame.pts >= high:
                break
            if frame.pts >= low:
                frames[frame.pts] = frame
        rgb = [(torch.from_numpy(frames[pts].to_rgb().to_ndarray()), pts) for pts in sorted(frames)]
    kept = [image for image, pts in rgb if start_pts <= pts < end_pts]
    return torch.stack(kept).permute(3, 0, 1, 2).to(torch.float32)


class WholeClipDataset(torch.utils.data.Dataset):
    """One clip per video, [0, clip_seconds): decoded whole, then subsampled and transformed."""

    def __init__(self, videos: list[tuple[str, int]], clip_seconds: float, frames: int, backbone: dict):
        self.videos, self.clip_seconds, self.frames = videos, clip_seconds, frames
        size = backbone["image_size"]
        self.resize = v2.Compose([v2.Resize(size, antialias=True), v2.CenterCrop(size)])
        self.mean, self.std = backbone["mean"], backbone["std"]

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, index: int) -> dict:
        path, label = self.videos[index]
        video = decode_clip(path, 0.0, self.clip_seconds)                             # (C, T_all, H, W)
        keep = torch.linspace(0, video.shape[1] - 1, self.frames).round().long()
        clip = self.resize(video[:, keep].permute(1, 0, 2, 3).to(torch.uint8))       # (T, C, S, S)
        return {"video": v2.functional.normalize(clip.float() / 255, self.mean, self.std), "label": label}


def whole_clip_loader(records, *, frames: int, backbone: dict, batch_size: int, workers: int,
                      seconds: float) -> torch.utils.data.DataLoader:
    dataset = WholeClipDataset([(str(r.path), r.label) for r in records], seconds, frames, backbone)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers)
