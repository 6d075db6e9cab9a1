"""Reading an export folder (written by `python -m src.export`: <run>/export/ holds model.onnx and export.json) for
`engine=onnxruntime` in src.detect / src.predict, and checking that it stands in for the run it is used with:

    target = ExportTarget(task="header", run_dir=run_dir, checkpoint=run_dir / best["checkpoint"], num_frames=16,
                          input_shape=(3, 16, 224, 224))
    export = read_export(None, target, "detect.export_dir")   # None: <run>/export/; UserError naming the file

An export of another run (its checkpoint_sha256 is not the sha256 of the run's weights), of the other task, for
another number of frames or input shape, or of another format is refused: its logits would not be the run's.
"""
import json
from dataclasses import dataclass
from pathlib import Path

from src.core.errors import UserError
from src.core.provenance import file_sha256

EXPORT_FILE = "export.json"
DEFAULT_FOLDER = "export"       # under the run folder
ONNX_FORMAT = "onnx"


@dataclass(frozen=True)
class ExportTarget:
    """What an export must have been made from to replace a run's model."""
    task: str                    # header | clip
    run_dir: Path
    checkpoint: Path             # the weights file the run's model is loaded from
    num_frames: int              # frames the model takes per clip
    input_shape: tuple           # the model's input without the batch axis, e.g. (3, T, S, S) or (V, T, 3, S, S)


def export_folder(export_dir: str | None, run_dir: Path) -> Path:
    return Path(run_dir) / DEFAULT_FOLDER if export_dir is None else Path(export_dir)


def read_export(export_dir: str | None, target: ExportTarget, key: str) -> dict:
    """export.json of the folder `export_dir` (None: <run>/export/), checked against `target`; the model file's
    path is added as "path". `key` names the setting (detect.export_dir / export_dir) in the messages."""
    folder = export_folder(export_dir, target.run_dir)
    path = folder / EXPORT_FILE
    remedy = f"run python -m src.export run={target.run_dir} format=onnx (or point {key}= at its export folder)"
    try:
        export = json.loads(path.read_text())
        fields = (export["format"], export["file"], export["task"], export["checkpoint_sha256"],
                  export["num_frames"], export["input"]["shape"])
    except FileNotFoundError:
        raise UserError(f"{path}: no export of this run; {remedy}") from None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise UserError(f"{path}: not a readable export.json ({type(err).__name__}: {err}); {remedy}") from None
    kind, file, task, sha256, num_frames, shape = fields
    problem = None
    if kind != ONNX_FORMAT:
        problem = f"format {kind!r}, engine=onnxruntime reads format {ONNX_FORMAT!r}"
    elif task != target.task:
        problem = f"an export of a task={task} run, this run is task={target.task}"
    elif sha256 != file_sha256(target.checkpoint):
        problem = f"an export of another run (checkpoint_sha256 is not the sha256 of {target.checkpoint})"
    elif num_frames != target.num_frames:
        problem = f"exported for num_frames={num_frames}, the run's model takes {target.num_frames}"
    elif not _fits(shape, target.input_shape):
        problem = f"input shape {shape}, the model is fed [batch, {', '.join(map(str, target.input_shape))}]"
    if problem:
        raise UserError(f"{path}: {problem}; {remedy}")
    model = folder / Path(str(file)).name   # beside export.json, never elsewhere
    if not model.is_file():
        raise UserError(f"{path}: names {model.name}, which is not in {folder}; {remedy}")
    return {**export, "path": str(model)}


def _fits(shape, expected: tuple) -> bool:
    """The export's input shape (a null axis: any size) takes [batch, *expected]."""
    return isinstance(shape, list) and len(shape) == len(expected) + 1 and \
        all(axis is None or axis == size for axis, size in zip(shape[1:], expected))
