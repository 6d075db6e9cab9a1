"""Dataset class names -> prompt text: "ApplyEyeMakeup" -> "apply eye makeup", "brush_hair" -> "brush hair"."""
import re

from src.core.errors import UserError

# A lower-case letter or digit followed by an upper-case one starts a new word ("EyeMakeup", "Yo|Yo").
_LOWER_TO_UPPER = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
# The end of an acronym: "TVShow" -> "TV Show" (the last capital of a run starts the next word).
_ACRONYM_END = re.compile(r"(?<=[A-Z])(?=[A-Z][a-z])")
# Letters followed by digits or digits by letters: "Pushups2" -> "Pushups 2".
_LETTER_DIGIT = re.compile(r"(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])")


def prompt_name(raw: str) -> str:
    """The words of a class name, lower case, single spaces.

    Folder names in CamelCase (UCF-101), snake_case (HMDB-51) or with hyphens are split into words; names that
    are already words (Kinetics-400 labels such as "air drumming" or "tying knot (not on a tie)") only get
    their whitespace normalised. Acronyms stay one word ("PlayingTV" -> "playing tv"); CLIP's tokenizer lower
    cases text anyway, so lower case loses nothing.
    """
    assert isinstance(raw, str), f"class name must be a string, got {type(raw).__name__}"
    text = raw.replace("_", " ").replace("-", " ")
    text = _ACRONYM_END.sub(" ", _LOWER_TO_UPPER.sub(" ", text))
    text = _LETTER_DIGIT.sub(" ", text)
    return " ".join(text.split()).lower()


def prompt_names(raw_names: list[str]) -> list[str]:
    """`prompt_name` for every class, checking that no two classes collapse to the same text."""
    names = [prompt_name(raw) for raw in raw_names]
    seen: dict[str, str] = {}
    for raw, name in zip(raw_names, names):
        if name in seen:
            raise UserError(f"class names {seen[name]!r} and {raw!r} both become the prompt text {name!r}; "
                            "rename one of them")
        seen[name] = raw
    return names
