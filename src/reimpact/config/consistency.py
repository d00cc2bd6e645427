"""Rules between sections of a study file that no single section can check: what sampling
weights cannot go with, and what the sensitivity checks may name. Each raises ``ValueError``
(the study turns it into a one-line :class:`~reimpact.exceptions.StudyError`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .study import Study


def check_weights(study: Study) -> None:
    """What sampling weights cannot go with: Firth's model and the matching bootstrap."""
    if study.weights is None:
        return
    if study.weights in study.outcomes or study.weights in study.treatment.columns:
        raise ValueError(f"weights: '{study.weights}' is also an outcome or the treatment")
    if study.propensity.separation == "penalise":
        raise ValueError(
            "propensity.separation: 'penalise' (Firth's model) does not take sampling weights; "
            "use 'exclude' or 'merge', or remove 'weights'"
        )
    psm = getattr(study.methods, "psm", None)
    if psm is not None and psm.se == "bootstrap":
        raise ValueError(
            "methods.psm.se: the bootstrap does not carry sampling weights; with 'weights' use 'auto'"
        )


def check_sensitivity(study: Study) -> None:
    """The sensitivity section against the rest: benchmarks are numeric covariates, refutations
    name the study's methods and outcomes, the AIPW bounds need the AIPW method."""
    spec = study.sensitivity
    if spec is None:
        return
    if spec.omitted_variable is not None:
        for name in spec.omitted_variable.benchmarks:
            if name not in study.covariates or name in study.categorical:
                raise ValueError(
                    f"sensitivity.omitted_variable.benchmarks: '{name}' must be a numeric "
                    "covariate of the study"
                )
    if spec.refutations is not None:
        for method in spec.refutations.methods:
            if getattr(study.methods, method) is None:
                raise ValueError(
                    f"sensitivity.refutations.methods: '{method}' is not among the study's "
                    f"methods ({', '.join(study.methods.names)})"
                )
        for outcome in spec.refutations.outcomes or []:
            if outcome not in study.outcomes:
                raise ValueError(
                    f"sensitivity.refutations.outcomes: '{outcome}' is not an outcome of the study"
                )
    if spec.dml is not None:
        if getattr(study.methods, "aipw", None) is None:
            raise ValueError("sensitivity.dml: bounds the AIPW estimates; add 'aipw' to methods")
        for name in spec.dml.benchmarks:
            if name not in study.covariates:
                raise ValueError(
                    f"sensitivity.dml.benchmarks: '{name}' is not a covariate of the study "
                    f"({', '.join(study.covariates)})"
                )
