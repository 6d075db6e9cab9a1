"""Method name (`method.name`) -> classifier class; the one place the task builder asks for a CLIP method."""
from src.clip.models.classifier import ClipVideoClassifier
from src.clip.models.methods.dual_coop import DualCoOp
from src.clip.models.methods.stt import STT
from src.clip.models.methods.video_coop import VideoCoOp
from src.clip.models.methods.vidop import ViDOP
from src.clip.models.methods.vifi_clip import ViFiCLIP
from src.clip.models.methods.vilt import ViLT
from src.clip.models.methods.vita import ViTa
from src.clip.models.methods.zero_shot import ZeroShot
from src.core.errors import UserError

METHODS: dict[str, type[ClipVideoClassifier]] = {
    "video_coop": VideoCoOp, "dual_coop": DualCoOp, "stt": STT, "vidop": ViDOP, "vilt": ViLT, "vita": ViTa,
    "zero_shot": ZeroShot,   # frozen CLIP + hand-crafted prompts: evaluation only (src.evaluate)
    "vifi_clip": ViFiCLIP,   # fine-tunes CLIP's two towers (the baseline the prompting papers compare with)
}


def build_method(method: dict, clip, tokenizer, class_names: list[str], num_frames: int) -> ClipVideoClassifier:
    """Build the classifier of `method["name"]` on a loaded (frozen) CLIP."""
    name = method["name"]
    if name not in METHODS:
        raise UserError(f"method.name: unknown method '{name}'; known methods: {', '.join(sorted(METHODS))} "
                        "(pick one with method=<name>)")
    return METHODS[name](clip, tokenizer, class_names, method, num_frames)
