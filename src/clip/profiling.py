"""task=clip's subject for src.profile (src/core/cost.py): the method's classifier on its CLIP at the config's size,
built as a training run builds it but with placeholder class names (no data is read), and one clip of one view.

A training step encodes the class prompts once for its whole batch (task.text_once_per_step), so the per-clip figures
take the class text features as an input and the text tower is profiled on its own, as the step's shared part.
Methods whose text depends on the video (stt, vidop's descriptors) run their text side inside each clip's forward.
"""
import torch
from omegaconf import DictConfig, OmegaConf
from torch import Tensor, nn

from src.clip.models.backbone import require_clip_backbone
from src.clip.models.classifier import ClipVideoClassifier
from src.clip.module import ClipVideoModule
from src.core.cost import CostSubject


class ClipWithText(nn.Module):
    """One clip -> logits, with the class text features given (None: the method computes its own per clip)."""

    def __init__(self, classifier: ClipVideoClassifier, text_features: Tensor | None):
        super().__init__()
        self.classifier = classifier
        self.text_features = text_features

    def forward(self, video: Tensor) -> Tensor:
        text = None if self.text_features is None else self.text_features.to(video.device)
        return self.classifier(video, text)


class ClassText(nn.Module):
    """The class text features of every class: what a training step computes once for its batch."""

    def __init__(self, classifier: ClipVideoClassifier):
        super().__init__()
        self.classifier = classifier

    def forward(self) -> Tensor:
        return self.classifier.class_text_features()


def profile_subject(cfg: DictConfig) -> CostSubject:
    config = OmegaConf.to_container(cfg, resolve=True)
    require_clip_backbone(config["backbone"])
    classes = int(config["text_classes"])
    module = ClipVideoModule.from_config(config, [f"class {i}" for i in range(classes)])
    return clip_cost_subject(module.model, config, f"{classes} classes (text_classes)")


def clip_cost_subject(classifier: ClipVideoClassifier, config: dict, classes: str) -> CostSubject:
    """One view of one clip at the config's size through `classifier`; its class text features once per step.
    Also the subject of a finished run's cost.json (src/clip/artifacts.py)."""
    frames, size = int(config["dataset"]["num_frames"]), int(config["backbone"]["image_size"])
    generator = torch.Generator().manual_seed(int(config["seed"]))
    example = torch.randn(1, 1, frames, 3, size, size, generator=generator)   # (B, V, T, 3, H, W): one view
    if classifier.text_features_depend_on_video:
        return CostSubject(ClipWithText(classifier, None), example, num_frames=frames, image_size=size)
    with torch.no_grad():
        text = classifier.class_text_features().detach()
    # Training sends the gradient on into the text side: an input that asks for it costs that backward per clip.
    # Nothing to train (zero_shot): the class text features are fixed at build time, no step computes them.
    trainable = any(p.requires_grad for p in classifier.parameters())
    return CostSubject(ClipWithText(classifier, text.requires_grad_(trainable)), example, num_frames=frames,
                       image_size=size, shared=ClassText(classifier) if trainable else None,
                       shared_what=f"class text features of {classes}, once per step")
