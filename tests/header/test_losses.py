"""src/header/losses.py: the focal loss (torchvision's sigmoid focal loss on the two-logit margin) equals the
softmax focal loss of Lin et al. on the two logits."""
import torch
import torch.nn.functional as F

from src.header.losses import build_loss


def test_focal_loss_equals_the_two_class_softmax_focal_loss():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(256, 2, generator=generator) * 4.0                   # confident and unsure clips
    labels = torch.randint(0, 2, (256,), generator=generator)
    for alpha, gamma in ((0.75, 2.0), (0.25, 0.0), (0.5, 1.5)):
        focal = build_loss({"name": "focal", "focal_alpha": alpha, "focal_gamma": gamma}, [10, 2])(logits, labels)
        log_pt = F.log_softmax(logits.double(), dim=-1).gather(1, labels[:, None]).squeeze(1)  # reference: float64
        alpha_t = torch.where(labels == 1, alpha, 1.0 - alpha)
        expected = -alpha_t * (1.0 - log_pt.exp()) ** gamma * log_pt
        error = (focal.double() - expected).abs() / expected.abs().clamp(min=1.0)  # float32 rounding: relative
        assert focal.shape == (256,) and error.max() <= 5e-7, (alpha, gamma, error.max())
