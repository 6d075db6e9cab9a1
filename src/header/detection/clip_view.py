"""What detection shows the model: windows cut and cropped exactly as the run's training clips were.

    view = clip_view(detect, run.clip_settings, run.config["dataset"], ball_track)
    box = view.box(index)            # the ball box of frame `index` (None: none there, or no track)
    view.crop_frame(rgb, box)        # (H, W, 3) frame -> the clip frame

The settings come from the run's clip_settings.json (the clips' summary.json, copied at training), each
overridable with detect.<key>; a run trained on other clips falls back to conf/header_clips.yaml. The crop:
- detect.tracks given: the ball-centred crop of src/header/footage/crop.py, around each frame's ball box;
- no tracks, clips of whole frames: the frame resized to the clips' size;
- no tracks, clips not made from footage: the frame as decoded (the run's transform resizes it);
- no tracks, a run trained on ball crops: refused (it never saw a whole frame).
A window holds the clips' num_frames frames at their frame_step; the model takes the run's dataset.num_frames of
them, sampled evenly, as training sampled them from each clip.
"""
from dataclasses import dataclass

import numpy as np

from src.core.errors import UserError
from src.header.data.dataset import sample_frame_indices
from src.header.footage.crop import CropSettings, crop_frame
from src.header.footage.defaults import clip_defaults
from src.header.footage.tracks import BallTrack

# detect.<key> -> clip_settings key
OVERRIDES = {"crop_scale": "crop_scale", "min_crop": "min_crop", "crop_size": "size", "frame_step": "frame_step",
             "max_track_gap": "max_track_gap", "min_track_score": "min_track_score"}


@dataclass(frozen=True)
class ClipView:
    crop: CropSettings | None    # None: frames as decoded
    track: BallTrack | None      # ball crops only
    max_track_gap: int
    min_track_score: float
    num_frames: int              # frames per window
    frame_step: int
    model_frames: np.ndarray     # (T_model,) indices into a window's frames: what the model takes

    def box(self, index: int) -> np.ndarray | None:
        if self.track is None:
            return None
        box = self.track.boxes_at(np.array([index]), self.max_track_gap)[0]  # (4,), NaN where none
        return box if np.isfinite(box).all() else None

    def crop_frame(self, rgb: np.ndarray, box: np.ndarray | None) -> np.ndarray:
        return rgb if self.crop is None else crop_frame(rgb, box, self.crop)

    def settings(self) -> dict:
        """For settings.json (a resume must match) and summary.json."""
        crop = self.crop.as_dict() if self.crop else {"crop": "none"}
        return {**crop, "num_frames": self.num_frames, "frame_step": self.frame_step,
                "max_track_gap": self.max_track_gap, "min_track_score": self.min_track_score,
                "model_frames": len(self.model_frames)}


def merged_settings(detect: dict, run_clips: dict | None, run_dataset: dict) -> dict:
    """The clip settings detection uses: the run's clips' (or conf/header_clips.yaml's), detect.<key> over them."""
    settings = dict(run_clips) if run_clips else {**clip_defaults(), "num_frames": run_dataset["num_frames"]}
    for key, name in OVERRIDES.items():
        if detect.get(key) is not None:
            settings[name] = detect[key]
    if detect.get("num_frames") is not None:
        settings["num_frames"] = detect["num_frames"]
    return settings


def crop_mode(tracked: bool, run_clips: dict | None) -> str | None:
    if tracked:
        return "ball"
    trained_on = (run_clips or {}).get("crop")
    if trained_on == "ball":
        raise UserError("detect.tracks is required: the run was trained on ball-centred crops (its clip_settings.json);"
                        " pass the ball-track CSV of this video (video_id,half,frame,x,y,w,h or frame,x,y,w,h)")
    return "whole_frame" if trained_on == "whole_frame" else None


def clip_view(detect: dict, run_clips: dict | None, run_dataset: dict, track: BallTrack | None) -> ClipView:
    settings = merged_settings(detect, run_clips, run_dataset)
    mode = crop_mode(track is not None, run_clips)
    crop = None if mode is None else CropSettings(mode=mode, crop_scale=float(settings["crop_scale"]),
                                                  min_crop=int(settings["min_crop"]), size=int(settings["size"]))
    window = int(settings["num_frames"])
    return ClipView(crop=crop, track=track, max_track_gap=int(settings["max_track_gap"]),
                    min_track_score=float(settings["min_track_score"]), num_frames=window,
                    frame_step=int(settings["frame_step"]),
                    model_frames=sample_frame_indices(window, int(run_dataset["num_frames"])))
