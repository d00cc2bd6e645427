"""Results objects: :class:`Effect` and :class:`EffectTable` (one estimate, many), and
:class:`StudyResults` (a whole run)."""

from .effects import EFFECT_COLUMNS, Effect, EffectTable
from .study import DesignSummary, StudyResults, json_safe

__all__ = ["EFFECT_COLUMNS", "DesignSummary", "Effect", "EffectTable", "StudyResults", "json_safe"]
