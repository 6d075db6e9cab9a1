"""Method name (`method.name`) -> classifier class; the one place the task builder asks for a CLIP method."""
from src.errors import UserError
from src.models.clip.video_classifier import ClipVideoClassifier
from src.models.clip.video_coop import VideoCoOp

METHODS: dict[str, type[ClipVideoClassifier]] = {"video_coop": VideoCoOp}


def build_method(method: dict, clip, tokenizer, class_names: list[str], num_frames: int) -> ClipVideoClassifier:
    """Build the classifier of `method["name"]` on a loaded (frozen) CLIP."""
    name = method["name"]
    if name not in METHODS:
        raise UserError(f"method.name: unknown method '{name}'; known methods: {', '.join(sorted(METHODS))} "
                        "(pick one with method=<name>)")
    return METHODS[name](clip, tokenizer, class_names, method, num_frames)
