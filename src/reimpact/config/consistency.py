"""Rules between sections of a study file that no single section can check (all run by
:func:`check_sections`): what sampling weights cannot go with, what the sensitivity checks may name,
a multi-valued treatment's and long data's rules. Each raises ``ValueError``
(the study turns it into a one-line :class:`~reimpact.exceptions.StudyError`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .panel import check_panel

if TYPE_CHECKING:
    from .study import Study


def check_sections(study: Study) -> None:
    """Every rule between sections: weights, sensitivity, a multi-valued treatment, long data."""
    check_weights(study)
    check_sensitivity(study)
    check_multivalued(study)
    check_panel(study)


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


def multivalued_defaults(raw: Any) -> Any:
    """A raw study file with a multi-valued treatment (``treatment.reference``): an absent
    ``estimand`` means the ATE and absent ``methods`` mean ``ipw`` and ``aipw``."""
    treatment = raw.get("treatment") if isinstance(raw, dict) else None
    if isinstance(treatment, dict) and ("reference" in treatment or treatment.get("kind") == "dose"):
        return {"estimand": "ATE", "methods": {"ipw": {}, "aipw": {}}, **raw}
    return raw


def check_multivalued(study: Study) -> None:
    """What a multi-valued treatment (``treatment.reference``) goes with: the ATE, the ``ipw`` and
    ``aipw`` methods with their defaults, a logistic or boosted score, no sensitivity section and
    no multiple imputation (:mod:`reimpact.estimators.multivalued`)."""
    if not study.treatment.multivalued:
        return
    if study.estimand != "ATE":
        raise ValueError(
            "estimand: a multi-valued treatment is analysed for the ATE (each level against "
            "another over the whole population); write 'estimand: ATE' or leave it out"
        )
    for name in study.methods.names:
        if name not in ("ipw", "aipw"):
            raise ValueError(
                f"methods.{name}: not available for a multi-valued treatment; use ipw or aipw"
            )
    ipw, aipw = getattr(study.methods, "ipw", None), getattr(study.methods, "aipw", None)
    if ipw is not None and ipw.weights != "hajek":
        raise ValueError("methods.ipw.weights: a multi-valued treatment takes 'hajek' weights only")
    if aipw is not None and (aipw.outcome_learner != "linear" or aipw.propensity_learner is not None):
        raise ValueError(
            "methods.aipw: a multi-valued treatment takes the linear outcome learner and the "
            "study's propensity.model; remove 'outcome_learner' and 'propensity_learner'"
        )
    spec = study.propensity
    if spec.kind not in ("logistic", "gradient_boosting") or spec.trim is not None:
        raise ValueError(
            "propensity: a multi-valued treatment takes 'model: logistic' or 'gradient_boosting' "
            "(a multinomial score) and no 'trim'; remove 'column', 'cbps' or 'trim'"
        )
    if study.sensitivity is not None or not isinstance(study.missing, str):
        raise ValueError(
            "treatment.reference: a multi-valued treatment has no sensitivity checks or multiple "
            "imputation yet; remove 'sensitivity' and use 'missing: drop' or 'impute'"
        )
