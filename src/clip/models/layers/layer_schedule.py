"""Layer-index lists from method configs, checked against the towers of the loaded CLIP.

Indices are absolute (0 = first block); negative indices count from the last block, Python style. A list that
names a layer the backbone does not have is a UserError (ViT-B/16 has 12 blocks per tower, clip_tiny 2): we do
not silently drop layers, because a schedule written for one depth means something else at another.
"""
from src.core.errors import UserError


def resolve_layers(key: str, layers: list[int], depth: int) -> list[int]:
    """`method.<key>` list -> sorted unique absolute indices in [0, depth)."""
    if layers is None or isinstance(layers, (str, int)):
        raise UserError(f"method.{key}: expected a list of layer indices, got {layers!r}; e.g. {key}=[0,1]")
    resolved = set()
    for index in layers:
        if not isinstance(index, int) or not -depth <= index < depth:
            raise UserError(f"method.{key}: layer {index!r} does not exist in this backbone ({depth} layers, "
                            f"indices 0..{depth - 1} or negative from the end); override it, e.g. "
                            f"method.{key}=[0,{depth - 1}]")
        resolved.add(index % depth)
    return sorted(resolved)
