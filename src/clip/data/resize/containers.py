"""Which container and encoder a video gets. The file keeps its name (the list files and annotation CSVs name it),
so it keeps its container; the encoder is --codec where that container holds it, else the one it does hold:

    .mp4 .m4v .mov .mkv   --codec (h264: libx264 at --crf/--preset; mpeg4: MPEG-4 Part 2 at mpeg4_quantiser)
    .avi                  mpeg4. AVI stores no presentation timestamps: H.264 with B-frames in an .avi decoded with
                          its frames' timestamps out of order (measured: pts 1, 3, 4, 2, 7, 6, …), and the readers
                          index frames by timestamp. MPEG-4 Part 2 (no B-frames) is what UCF-101 and HMDB-51 ship.
    .webm                 vp9 (libvpx-vp9 at vp9_crf/vp9_speed): WebM holds VP8/VP9/AV1 only

These six suffixes are the ones the readers index (src/clip/data/readers/kinetics400.py's VIDEO_EXTENSIONS); a file
with any other suffix is copied as it is. Every encoder runs on one thread (the tool runs one process per core).
"""
from fractions import Fraction

import av

from src.clip.data.resize.settings import ResizeSettings

# suffix -> (FFmpeg muxer, the codecs it holds well, preferred first)
CONTAINERS = {
    ".mp4": ("mp4", ("h264", "mpeg4")),
    ".m4v": ("mp4", ("h264", "mpeg4")),
    ".mov": ("mov", ("h264", "mpeg4")),
    ".mkv": ("matroska", ("h264", "mpeg4")),
    ".avi": ("avi", ("mpeg4",)),
    ".webm": ("webm", ("vp9",)),
}
ENCODERS = {"h264": "libx264", "mpeg4": "mpeg4", "vp9": "libvpx-vp9"}
# MPEG-4 Part 2 stores its time base in 16 bits: rates like 2997/100 are kept to a denominator of at most 1001
# (29.97 = 30000/1001 exactly) for every codec, so every output's rate is one a player shows as-is.
MAX_RATE_DENOMINATOR = 1001


def is_video(suffix: str) -> bool:
    return suffix.lower() in CONTAINERS


def muxer_for(suffix: str) -> str:
    return CONTAINERS[suffix.lower()][0]


def codec_for(suffix: str, settings: ResizeSettings) -> str:
    fits = CONTAINERS[suffix.lower()][1]
    return settings.codec if settings.codec in fits else fits[0]


def missing_encoders(suffixes: set[str], settings: ResizeSettings) -> dict[str, list[str]]:
    """encoder -> the suffixes that need it, for the encoders this PyAV build lacks."""
    missing: dict[str, list[str]] = {}
    for suffix in sorted(suffixes):
        encoder = ENCODERS[codec_for(suffix, settings)]
        try:
            av.codec.Codec(encoder, "w")
        except (av.codec.codec.UnknownCodecError, ValueError):
            missing.setdefault(encoder, []).append(suffix)
    return missing


def output_rate(rate: Fraction) -> Fraction:
    return Fraction(rate).limit_denominator(MAX_RATE_DENOMINATOR)


def add_video_stream(container, codec: str, settings: ResizeSettings, width: int, height: int, rate: Fraction):
    """An encoder stream (yuv420p, one thread) for `codec` in the open output `container`."""
    stream = container.add_stream(ENCODERS[codec], rate=rate)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    context = stream.codec_context
    context.thread_count = 1
    if codec == "h264":
        context.options = {"crf": str(settings.crf), "preset": settings.preset}
    elif codec == "mpeg4":
        # A fixed quantiser (qmin = qmax), what `ffmpeg -q:v` gives: the encoder's default is a 200 kb/s bit rate,
        # far too low at 320p. (PyAV's global_quality alone changed nothing: ffmpeg's CLI sets it per frame.)
        context.qmin = context.qmax = settings.mpeg4_quantiser
    else:
        context.options = {"crf": str(settings.vp9_crf), "b": "0", "cpu-used": str(settings.vp9_speed),
                           "row-mt": "0"}
    return stream
