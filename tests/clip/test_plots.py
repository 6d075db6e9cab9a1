"""task=clip pictures: a confusion matrix that names the largest confusions (readable at 101 classes), curves."""
import numpy as np
from PIL import Image

from src.clip.plots import top_confusions, write_confusion_png, write_curves_png


def test_confusion_png_at_101_classes_lists_the_top_confusions_by_name(tmp_path):
    names = [f"Class{i:03d}" for i in range(101)]
    cm = np.eye(101, dtype=int) * 5
    cm[7, 42], cm[3, 99], cm[50, 51] = 9, 4, 2
    assert top_confusions(cm, names, 2) == [("Class007", "Class042", 9), ("Class003", "Class099", 4)]
    assert top_confusions(np.eye(3, dtype=int), names[:3], 5) == []          # nothing confused: nothing listed
    path = tmp_path / "cm.png"
    write_confusion_png(cm.tolist(), names, path, title="ucf101")
    width, height = Image.open(path).size
    assert width > 1500 and height > 1000                                    # grows with the class count


def test_curves_png_skips_epochs_without_validation(tmp_path):
    records = [{"epoch": 0, "train_loss": 2.0, "train_acc": 0.1, "val_loss": None, "val_top1": None},
               {"epoch": 1, "train_loss": 1.5, "train_acc": 0.3, "val_loss": 1.7, "val_top1": 0.25}]
    write_curves_png(records, tmp_path / "curves.png")
    assert Image.open(tmp_path / "curves.png").size[0] > 500


def visible_ticks(ax) -> list[float]:
    low, high = ax.get_xlim()
    return [t for t in ax.get_xticks() if low <= t <= high]


def test_one_epoch_curves_have_whole_epoch_ticks():
    import pandas as pd

    from src.clip.plots import curves_figure
    from src.header.plots import loss_curves_figure

    clip_fig = curves_figure([{"epoch": 0, "train_loss": 2.0, "train_acc": 0.1, "val_loss": 1.9, "val_top1": 0.2}])
    header_fig = loss_curves_figure(pd.DataFrame([{"epoch": 1, "train_loss": 0.7, "val_loss": 0.6, "val_f1": 0.5,
                                                   "val_auc": 0.6}]))
    for fig in (clip_fig, header_fig):
        for ax in fig.axes:
            ticks = visible_ticks(ax)
            assert ticks and all(float(t).is_integer() for t in ticks), ticks
