"""The one registry of effect estimators (``METHODS``): name -> estimator class and its section of
the study file.

The study file, the pipeline, the report and ``results.json`` all read it, so adding an estimator
means one module (an :class:`~reimpact.estimators.EffectEstimator` subclass), one call to
:func:`register` and its tests. A method's study-file section is derived from the estimator's
keyword-only ``__init__`` arguments, their types (``Annotated`` with pydantic constraints) and their
defaults, so each default is written once; the arguments the study supplies itself
(:data:`~reimpact.estimators.CONTEXT`) are not keys of the section.
"""

from __future__ import annotations

import inspect
import typing
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import create_model, field_validator, model_validator

from ._validation import Section, default_or_off
from .estimators import (
    CONTEXT,
    AIPWEstimator,
    CEMEstimator,
    EffectEstimator,
    EntropyBalancingEstimator,
    IPWEstimator,
    MatchingEstimator,
    NaiveEstimator,
    signature_fields,
)

if TYPE_CHECKING:
    from .config.study import Study
    from .design.propensity import PropensityKind


@dataclass(frozen=True)
class Method:
    """A registered estimator: ``always`` runs whatever the study says (the naive difference)."""

    name: str
    estimator: type[EffectEstimator]
    spec: type[MethodSpec]
    always: bool = False

    @property
    def label(self) -> str:
        return self.estimator.label or self.name


METHODS: dict[str, Method] = {}


def spec_model(estimator: type[EffectEstimator]) -> type[MethodSpec]:
    """The study-file section of ``estimator``: one key per keyword-only ``__init__`` argument
    outside :data:`~reimpact.estimators.CONTEXT`, with its type, constraints and default."""
    fields = {k: v for k, v in signature_fields(estimator).items() if k not in CONTEXT}
    model = create_model(  # type: ignore[call-overload]
        f"{estimator.__name__}Spec", __base__=MethodSpec, __doc__=estimator.__doc__, **fields
    )
    model.renamed = dict(estimator.renamed_params)
    model.method_name = estimator.name
    return model


class MethodSpec(Section):
    """A method's section of the study file. Pickled by the method's name and its values, so that a
    study pickles although its sections are built at run time (:func:`spec_model`)."""

    method_name: ClassVar[str] = ""

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuild_spec, (self.method_name, self.model_dump())


def _rebuild_spec(method: str, values: dict[str, Any]) -> MethodSpec:
    return METHODS[method].spec.model_validate(values)


def _contract_problem(estimator: type[EffectEstimator]) -> str | None:
    """Why ``estimator``'s constructor breaks the contract (settings keyword-only, annotated and
    defaulted, none ending in ``_``), or None."""
    hints = typing.get_type_hints(estimator.__init__)
    for p in list(inspect.signature(estimator.__init__).parameters.values())[1:]:
        if p.kind is not p.KEYWORD_ONLY:
            return f"'{p.name}' must be keyword-only (write `def __init__(self, *, ...)`)"
        if p.name not in hints or p.default is p.empty:
            return f"'{p.name}' needs a type annotation and a default"
        if p.name.endswith("_"):
            return f"'{p.name}' ends in '_', which marks learned attributes"
    return None


def register(estimator: type[EffectEstimator], *, always: bool = False) -> type[EffectEstimator]:
    """Register an estimator class as a method of the package.

    Make ``estimator`` a method of study files (``methods: {<estimator.name>: {...}}``), of the
    pipeline, ``results.json`` and the report. Usable as a class decorator. The method's
    study-file section is derived from the estimator's keyword-only ``__init__`` arguments (their
    types, ``Annotated`` constraints and defaults), leaving out those the study supplies itself
    (:data:`~reimpact.estimators.CONTEXT`: estimand, seed, propensity model and bound, progress
    bars). Registering the same class again replaces its entry; ``reimpact.registry.unregister(name)``
    removes a method.

    Parameters
    ----------
    estimator : type[EffectEstimator]
        The :class:`~reimpact.EffectEstimator` subclass. Its ``name`` (a Python identifier) is
        the method's key and its ``label`` names it in the report.
    always : bool
        Run the method whatever the study says, as the naive difference is; it then has no key
        in the study file's ``methods`` section.

    Returns
    -------
    type[EffectEstimator]
        ``estimator`` itself, so that ``@register`` leaves the class unchanged.

    Raises
    ------
    ValueError
        When ``estimator.name`` is empty, not a Python identifier, starts with ``_`` or names an
        attribute of the methods section (``"names"``, ``"copy"``...), or when another
        class is already registered under that name.

    Examples
    --------
    >>> import numpy as np
    >>> from reimpact import METHODS, Effect, EffectEstimator, register
    >>> @register
    ... class DifferenceInMedians(EffectEstimator):
    ...     name = "medians"
    ...     label = "Difference in medians"
    ...
    ...     def __init__(self, *, estimand: str = "ATT", shift: float = 0.0) -> None:
    ...         self.estimand = estimand
    ...         self.shift = shift
    ...
    ...     def _estimate(self, data):
    ...         t, effects = data.t, []
    ...         for j, outcome in enumerate(data.outcomes):
    ...             y1, y0 = data.y[t == 1, j], data.y[t == 0, j]
    ...             estimate = float(np.median(y1) - np.median(y0)) + self.shift
    ...             se = float(np.sqrt(y1.var(ddof=1) / y1.size + y0.var(ddof=1) / y0.size))
    ...             effects.append(
    ...                 Effect(outcome, self.name, self.estimand, estimate, se, y1.size, y0.size)
    ...             )
    ...         return effects
    >>> list(METHODS)
    ['naive', 'psm', 'ipw', 'aipw', 'cem', 'entropy', 'medians']

    A study file can now run it with ``methods: {psm: {}, medians: {shift: 0.5}}``, and the
    report and ``results.json`` show its effects under its label.
    """
    name = estimator.name
    if not name or not name.isidentifier() or name.startswith("_") or hasattr(MethodsSection, name):
        raise ValueError(
            f"{estimator.__name__}.name must be a Python identifier not starting with '_' and not "
            f"an attribute of the methods section (such as 'names' or 'copy'), got {name!r}"
        )
    problem = _contract_problem(estimator)
    if problem is not None:
        raise TypeError(f"{estimator.__name__}.__init__: {problem}")
    label = estimator.balance_label
    shared = [m.name for m in METHODS.values() if label and m.estimator.balance_label == label]
    if shared and shared != [name]:
        raise ValueError(
            f"{estimator.__name__}.balance_label '{label}' is already the balance sample of "
            f"'{shared[0]}'; give the new method a label of its own"
        )
    if name in METHODS and METHODS[name].estimator is not estimator:
        raise ValueError(f"a method named '{name}' is already registered; unregister it first")
    METHODS[name] = Method(name, estimator, spec_model(estimator), always)
    methods_model.cache_clear()
    return estimator


def unregister(name: str) -> None:
    """Remove a method registered with :func:`register`."""
    del METHODS[name]
    methods_model.cache_clear()


class MethodsSection(Section):
    """The estimators to run: a key per method (``psm: {}`` for its defaults, ``psm: false`` or
    leaving it out to skip it). The naive difference always runs."""

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_default(cls, value: Any) -> Any:
        return default_or_off(value)

    @model_validator(mode="after")
    def _at_least_one(self) -> MethodsSection:
        if not self.names:
            raise ValueError(f"name at least one method: {', '.join(type(self).model_fields)}")
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        # the model is built at run time from the registry: rebuild it from the values
        values = {k: False if v is None else v.model_dump() for k, v in self}
        return _rebuild_methods, (values,)

    @property
    def names(self) -> list[str]:
        """The methods switched on, in registry order."""
        return [name for name in type(self).model_fields if getattr(self, name) is not None]


def _rebuild_methods(values: dict[str, Any]) -> MethodsSection:
    return methods_model().model_validate(values)


@lru_cache(maxsize=1)
def methods_model() -> type[MethodsSection]:
    """The ``methods`` section for the methods registered now."""
    fields: dict[str, Any] = {m.name: (m.spec | None, None) for m in METHODS.values() if not m.always}
    return create_model("MethodsSpec", __base__=MethodsSection, **fields)  # type: ignore[call-overload]


def study_context(study: Study) -> dict[str, Any]:
    """The estimator arguments a study supplies itself (:data:`~reimpact.estimators.CONTEXT`):
    its estimand and seed, the propensity model (Firth's for a penalised logistic model) and the
    bound on inverted scores."""
    spec = study.propensity
    model: PropensityKind = spec.model or "logistic"
    if model == "logistic" and spec.separation == "penalise":
        model = "firth"
    return {
        "estimand": study.estimand,
        "random_state": study.seed,
        "propensity_model": model,
        "clip": spec.clip,
    }


def build_estimator(study: Study, name: str, verbose: bool = False) -> EffectEstimator:
    """The estimator ``name`` with the study's settings: its section of ``methods`` (the defaults
    when the study does not run it but needs it, e.g. AIPW for subgroups) and the study context."""
    method = METHODS[name]
    spec = getattr(study.methods, name, None) if not method.always else None
    params = spec.model_dump() if spec is not None else {}
    accepted = set(method.estimator.param_names())
    context = {**study_context(study), "verbose": verbose}
    params.update({k: v for k, v in context.items() if k in accepted})
    return method.estimator(**params)


register(NaiveEstimator, always=True)
register(MatchingEstimator)
register(IPWEstimator)
register(AIPWEstimator)
register(CEMEstimator)
register(EntropyBalancingEstimator)
