"""The summary that opens the report: the effect on the primary outcome in words and numbers,
whether the methods agree, what each sensitivity analysis says in one sentence, and a caution when
the result is fragile. Every number comes from the published payload (``results.json``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..figures.style import method_label
from ..markup import escape

if TYPE_CHECKING:
    from ...results import StudyResults

ROBUSTNESS_SMALL = 0.05  # a robustness value below this: a weak confounder would remove the effect
WHO = {"ATT": "the treated {units}", "ATC": "the control {units}", "ATE": "all {units}"}


def _g(value: float) -> str:
    """Three significant digits, as a reader would write them."""
    return f"{value:.3g}"


def effect_sentence(top: dict[str, Any], treatment: str, units: str) -> str:
    """The headline effect with its interval, as a share of the control mean and in SD units."""
    who = WHO.get(top["estimand"], "{units}").format(units=units)
    text = (
        f"{method_label(top['method'])} estimates that the treatment ({treatment}) changed "
        f"{top['outcome']} by "
        f"{top['estimate']:+.3g} (95% CI {_g(top['ci_lower'])} to {_g(top['ci_upper'])}) for "
        f"{who} ({top['estimand']})"
    )
    parts = []
    if top.get("percent_of_control_mean") is not None:
        parts.append(
            f"{top['percent_of_control_mean']:+.1f}% of the control group's mean of "
            f"{_g(top['control_mean'])}"
        )
    if top.get("sd_units") is not None:
        parts.append(f"{top['sd_units']:+.2f} standard deviations of the outcome")
    return text + (": " + " and ".join(parts) if parts else "") + "."


def primary_effects(published: dict, outcome: str) -> list[dict[str, Any]]:
    """The published adjusted effects on ``outcome`` (not the naive difference, not suppressed)."""
    return [
        e
        for e in published.get("effects") or []
        if e["outcome"] == outcome and e["method"] != "naive" and e.get("estimate") is not None
    ]


def agreement_sentence(effects: list[dict[str, Any]]) -> str | None:
    """Whether the adjusted methods agree in sign and in excluding zero."""
    if len(effects) < 2:
        return None
    names = ", ".join(method_label(e["method"]) for e in effects)
    signs = {e["estimate"] > 0 for e in effects}
    excluding = [e for e in effects if e["ci_lower"] > 0 or e["ci_upper"] < 0]
    low, high = min(e["estimate"] for e in effects), max(e["estimate"] for e in effects)
    if len(signs) > 1:
        return f"The methods disagree in sign ({names}: estimates from {_g(low)} to {_g(high)})."
    zero = (
        "every interval excludes zero"
        if len(excluding) == len(effects)
        else f"{len(excluding)} of {len(effects)} intervals exclude zero"
    )
    return f"The methods agree in sign ({names}: estimates from {_g(low)} to {_g(high)}); {zero}."


def sensitivity_sentences(sensitivity: dict[str, Any] | None, top: dict[str, Any]) -> list[str]:
    """One sentence per sensitivity analysis run on the primary outcome."""
    if not sensitivity:
        return []
    outcome, out = top["outcome"], []
    for o in sensitivity.get("omitted_variable") or []:
        if o["outcome"] == outcome and o.get("rv_q") is not None and o.get("rv_q_alpha") is not None:
            out.append(
                f"An unobserved confounder would have to explain {o['rv_q']:.0%} of the residual "
                f"variance of both treatment and outcome to remove the effect ({o['rv_q_alpha']:.0%} "
                "to make it statistically insignificant; Cinelli & Hazlett)."
            )
    evalues = [
        e
        for e in sensitivity.get("evalues") or []
        if e["outcome"] == outcome and e.get("evalue_estimate") is not None
    ]
    ranked = sorted(evalues, key=lambda e: e["method"] != top["method"])
    if ranked:
        e = ranked[0]
        out.append(
            f"E-value ({method_label(e['method'])}): a confounder associated with both treatment and "
            f"outcome by a risk ratio of {e['evalue_estimate']:.2f} each could explain the estimate "
            "away"
            + (f", {e['evalue_ci']:.2f} its interval's limit" if e.get("evalue_ci") is not None else "")
            + " (VanderWeele & Ding)."
        )
    for b in sensitivity.get("rosenbaum") or []:
        if b["outcome"] == outcome and b.get("available"):
            gamma = b.get("gamma_critical")
            out.append(
                "Rosenbaum bounds: in the matched pairs the effect stays significant until hidden "
                f"bias multiplies the odds of treatment by {gamma:.2f}."
                if gamma
                else "Rosenbaum bounds: the matched pairs' signed-rank test is not significant even "
                "without hidden bias."
            )
    refuted = [r for r in sensitivity.get("refutations") or [] if r["outcome"] == outcome]
    if refuted:
        passed = sum(bool(r["passed"]) for r in refuted)
        out.append(f"Refutation tests (DoWhy): {passed} of {len(refuted)} passed.")
    return out


def caution_reasons(published: dict, top: dict[str, Any], effects: list[dict[str, Any]]) -> list[str]:
    """What makes the result fragile, in plain words (empty when nothing does)."""
    reasons = []
    if len({e["estimate"] > 0 for e in effects}) > 1:
        reasons.append("the methods disagree in sign")
    crossing = [method_label(e["method"]) for e in effects if e["ci_lower"] <= 0 <= e["ci_upper"]]
    if crossing:
        reasons.append(f"the interval crosses zero for {', '.join(crossing)}")
    imbalanced = sorted(
        {
            r["covariate"]
            for r in (published.get("balance") or {}).get("rows") or []
            if r["sample"] != "unadjusted" and r.get("smd_flag") and not r.get("suppressed")
        }
    )
    if imbalanced:
        reasons.append(f"imbalance remains after adjustment ({', '.join(imbalanced[:5])})")
    for o in (published.get("sensitivity") or {}).get("omitted_variable") or []:
        if o["outcome"] == top["outcome"] and o.get("rv_q") is not None and o["rv_q"] < ROBUSTNESS_SMALL:
            reasons.append(
                f"a weak confounder would remove the effect (robustness value {o['rv_q']:.1%})"
            )
    if any("over 10%" in w for w in published.get("warnings") or []):
        reasons.append("many units were dropped (see the warnings)")
    return reasons


def summary_sentences(results: StudyResults, published: dict) -> list[str]:
    """The summary as sentences: the headline effect, the agreement of methods, one sentence per
    sensitivity analysis and, when the result is fragile, a caution (the last sentence)."""
    top = published.get("headline")
    spec = results.study.treatment
    if spec.multivalued:
        contrasts = len({e.get("contrast") for e in published["effects"]})
        return [
            f"A multi-valued treatment: {contrasts} contrasts of the levels of {spec.column} (each "
            f"against the reference {spec.reference}, then each pair) on every outcome; see Effects."
        ]
    if not top:
        return ["Only the unadjusted difference was estimated: name an adjusted method in the study."]
    if top.get("suppressed"):
        return [
            f"The effect on {top['outcome']} is suppressed: it rests on fewer than "
            f"{results.min_cell_size} {results.study.unit_label} in a group."
        ]
    effects = primary_effects(published, top["outcome"])
    out = [effect_sentence(top, results.study.treatment.label, results.study.unit_label)]
    agreement = agreement_sentence(effects)
    out += [agreement] if agreement else []
    out += sensitivity_sentences(published.get("sensitivity"), top)
    reasons = caution_reasons(published, top, effects)
    if reasons:
        out.append("Caution, this result is fragile: " + "; ".join(reasons) + ".")
    return out


def summary_section(results: StudyResults, published: dict) -> str:
    """The summary as HTML: the headline effect first, a caution highlighted."""
    sentences = summary_sentences(results, published)
    paragraphs = []
    for i, sentence in enumerate(sentences):
        kind = "caution" if sentence.startswith("Caution") else ("headline" if i == 0 else "summary")
        paragraphs.append(f'<p class="{kind}">{escape(sentence)}</p>')
    return "".join(paragraphs)
