"""The output folder of `make_header_clips`: never overwritten by a second run; `--resume` continues one that was
made with the same settings (settings.json, written before the first clip)."""
import json
from pathlib import Path

from src.core.atomic import write_json
from src.core.errors import UserError

OUTPUTS = ("clips", "all_clips.csv", "skipped_samples.csv", "summary.json", "settings.json")


def claim_output(output_dir: Path, settings: dict, resume: bool) -> None:
    output_dir = Path(output_dir)
    present = [name for name in OUTPUTS if (output_dir / name).exists()]
    if present and not resume:
        raise UserError(f"--output_dir {output_dir}: already holds {', '.join(present)}; pass --resume to continue "
                        "it (same settings), or choose another folder")
    recorded = output_dir / "settings.json"
    if resume and recorded.is_file():
        try:
            before = json.loads(recorded.read_text())
        except (OSError, ValueError) as err:
            raise UserError(f"--resume: {recorded} is unreadable ({err}); choose a new --output_dir") from None
        if before != settings:
            changed = sorted(k for k in set(before) | set(settings) if before.get(k) != settings.get(k))
            raise UserError(f"--resume: {output_dir} was made with other settings ({', '.join(changed)} differ); "
                            "use the same options, or another --output_dir")
    (output_dir / "clips").mkdir(parents=True, exist_ok=True)
    write_json(recorded, settings)
