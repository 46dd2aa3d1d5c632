"""Every problem model the clue centre runs: those over the case centre's records
(``record_models.py``) and those over the core's read models (``core_models.py``), by code.

Codes are the clues' keys and the API's names for models: :func:`check_unique` refuses a
registry where two models share one, and the module checks it when it is imported.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from evidence_service.modules.supervision.clues import core_models, record_models
from evidence_service.modules.supervision.clues.base import ProblemModel


class UnknownModelError(KeyError):
    """Codes no model has; ``codes`` lists them."""

    def __init__(self, codes: Sequence[str]) -> None:
        super().__init__(", ".join(codes))
        self.codes = list(codes)


def check_unique(models: Iterable[ProblemModel]) -> None:
    """Raise ValueError naming the first code two models share."""
    seen: set[str] = set()
    for model in models:
        if model.code in seen:
            raise ValueError(f"two problem models share the code {model.code!r}")
        seen.add(model.code)


MODELS: list[ProblemModel] = [*record_models.MODELS, *core_models.MODELS]
check_unique(MODELS)
BY_CODE: dict[str, ProblemModel] = {m.code: m for m in MODELS}


def get(code: str) -> ProblemModel:
    """The model of this code; UnknownModelError if none."""
    try:
        return BY_CODE[code]
    except KeyError:
        raise UnknownModelError([code]) from None


def select_models(codes: Sequence[str] | None) -> list[ProblemModel]:
    """The models named (in registry order, each once), or all for None; UnknownModelError
    listing every unknown code."""
    if codes is None:
        return list(MODELS)
    unknown = [c for c in dict.fromkeys(codes) if c not in BY_CODE]
    if unknown:
        raise UnknownModelError(unknown)
    wanted = set(codes)
    return [m for m in MODELS if m.code in wanted]
