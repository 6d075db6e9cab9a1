"""The command line's overrides applied to a finished run's config section (src.evaluate of both tasks)."""
import copy

from omegaconf import OmegaConf


def override_keys(overrides: list[str]) -> list[str]:
    """"dataset.num_frames=16" -> "dataset.num_frames"; "+x=1" / "~x" / "++x=1" -> "x"."""
    return [o.split("=", 1)[0].lstrip("+~") for o in overrides]


def apply_section_overrides(section: dict, composed: dict, name: str, keys: list[str]) -> dict:
    """A copy of the run's `section` with every `<name>.<key>` the command line set taken from the composed
    config (already typed and interpolated by Hydra)."""
    result = OmegaConf.create(copy.deepcopy(section))
    source = OmegaConf.create(composed)
    prefix = f"{name}."
    for key in keys:
        if key.startswith(prefix):
            sub = key[len(prefix):]
            OmegaConf.update(result, sub, OmegaConf.select(source, sub), force_add=True)
    return OmegaConf.to_container(result)
