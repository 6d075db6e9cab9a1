"""What decides the bytes of a resized tree (ResizeSettings: recorded in resize_summary.json, a resumed run must
give the same), the check of every value (from the command line or conf/resize_videos.yaml: one error line naming
the option), and the output size of a video."""
import math
from dataclasses import asdict, dataclass

from src.core.errors import UserError

CODECS = ("h264", "mpeg4")
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
                "placebo")
# swscale's filters (av.video.reformatter.Interpolation, without the flags that are no filter).
INTERPOLATIONS = ("FAST_BILINEAR", "BILINEAR", "BICUBIC", "X", "POINT", "AREA", "BICUBLIN", "GAUSS", "SINC",
                  "LANCZOS", "SPLINE")


@dataclass(frozen=True)
class ResizeSettings:
    short_side: int
    fps: float | None          # None: keep each video's rate
    codec: str
    crf: int
    preset: str
    mpeg4_quantiser: int
    vp9_crf: int
    vp9_speed: int
    interpolation: str

    def as_dict(self) -> dict:
        return asdict(self)


def check_settings(values: dict) -> ResizeSettings:
    """ResizeSettings from the tool's options (key -> value), or a UserError naming the first bad option."""
    short_side = _integer(values, "short_side", 2, None)
    if short_side % 2:
        raise UserError(f"--short_side {short_side}: must be even (yuv420p video needs even sizes), e.g. "
                        f"{short_side + 1}")
    fps = values["fps"]
    if fps is not None and (isinstance(fps, bool) or not isinstance(fps, int | float) or not 0 < fps < math.inf):
        raise UserError(f"--fps {fps}: must be a number > 0, or null to keep each video's frame rate")
    return ResizeSettings(
        short_side=short_side, fps=None if fps is None else float(fps),
        codec=_choice(values, "codec", CODECS), crf=_integer(values, "crf", 0, 51),
        preset=_choice(values, "preset", X264_PRESETS),
        mpeg4_quantiser=_integer(values, "mpeg4_quantiser", 2, 31), vp9_crf=_integer(values, "vp9_crf", 0, 63),
        vp9_speed=_integer(values, "vp9_speed", 0, 8), interpolation=_choice(values, "interpolation", INTERPOLATIONS))


def _integer(values: dict, key: str, low: int, high: int | None) -> int:
    value = values[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        allowed = f">= {low}" if high is None else f"in {low}..{high}"
        raise UserError(f"--{key} {value}: must be an integer {allowed} (conf/resize_videos.yaml or the command line)")
    return value


def _choice(values: dict, key: str, choices: tuple[str, ...]) -> str:
    if values[key] not in choices:
        raise UserError(f"--{key} {values[key]}: unknown; choose one of {', '.join(choices)}")
    return values[key]


def output_size(width: int, height: int, short_side: int) -> tuple[int, int] | None:
    """(width, height) with the short side scaled to `short_side` and the aspect ratio kept (the long side rounded
    to an even number), or None when the video's short side is already at or below it (it is copied as it is)."""
    short, long = min(width, height), max(width, height)
    if short <= short_side:
        return None
    scaled_long = max(2, 2 * round(long * short_side / short / 2))
    return (scaled_long, short_side) if width >= height else (short_side, scaled_long)
