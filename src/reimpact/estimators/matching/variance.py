"""The variance pieces of matching estimates and the notes that go with them: the
Abadie-Imbens (2016) estimated-score term, the bootstrap (Austin & Small 2014), the influence terms
with replacement under clustering, the outcome whose conditional variance enters the Abadie-Imbens
(2006) variance, and what a caliper did.

Each function takes a fitted :class:`~reimpact.estimators.matching.matcher.PropensityMatcher`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..._progress import progress
from ...design.matching import nearest_in_group
from ...design.propensity import expit, fit_logistic
from ...exceptions import DesignError
from ...stats.abadie_imbens import estimated_score_adjustment
from ...stats.regression import matched_regression

if TYPE_CHECKING:
    from .matcher import PropensityMatcher

SCORE_NEIGHBOURS = 4  # neighbours for cov(X, mu(w, X) | score) in the estimated-score adjustment


def replacement_estimate(matcher: PropensityMatcher, y: np.ndarray) -> tuple[float, np.ndarray]:
    """The matching estimate with replacement and its influence terms, the matches and the
    bias-correction regression held fixed: each direction is a weighted difference in the
    (corrected) outcome with the matching weights times the sampling weights (the matched units
    keep their own sampling weights, as MatchIt does; Austin, Jembere & Chiu 2018), and the
    directions are averaged by their (weighted) share of the matched focal units. Without
    sampling weights the estimate is the mean of the matched differences."""
    s = matcher.sampling_weights_
    shares = [float(s[r.matched_focal].sum()) for r in matcher.results_]
    tau, psi = 0.0, np.zeros(y.size)
    for result, share in zip(matcher.results_, shares, strict=True):
        direction = "ATT" if matcher.treated_[result.matched_focal[0]] == 1 else "ATC"
        weights = result.unit_weights(y.size) * s
        part_tau, part = matched_regression(
            matcher.corrected(y, result), matcher.treated_, weights, direction
        )
        tau += part_tau * share / sum(shares)
        psi += part * share / sum(shares)
    return tau, psi


def variance_outcome(matcher: PropensityMatcher, y: np.ndarray) -> np.ndarray:
    """The outcome whose conditional variance given the score enters the Abadie-Imbens
    variance: Var(Y | e(X), W) for plain matching on the score (Abadie & Imbens 2016); with the
    bias correction, the corrected outcome Y - mu(X) that the corrected estimator matches on
    (for the ATE, which corrects with two regressions, Y net of its own group's fit)."""
    if not (matcher.replace and matcher.adjusts_):
        return y
    if len(matcher.results_) == 1:
        return matcher.corrected(y, matcher.results_[0])
    assert matcher.covariates_ is not None  # adjusts_ holds only when covariates were given
    out = y.copy()
    for group in (0, 1):
        rows = matcher.treated_ == group
        out[rows] = y[rows] - fitted_in_group(matcher.covariates_, y, rows)[rows]
    return out


def method_notes(matcher: PropensityMatcher) -> list[str]:
    """What optimal or full matching did (none for nearest-neighbour matching)."""
    if matcher.method == "optimal":
        how = (
            "proved least over every pair within the caliper"
            if matcher.exact_
            else "least over the candidate graph reached (the dual certificate over every pair "
            "within the caliper was not met in 3 rounds; the most focal units are matched)"
        )
        return [f"optimal 1:{matcher.ratio} matching: total distance {how}"]
    if matcher.method == "full":
        subclass = matcher.results_[0].subclass(matcher.treated_.size)
        n_sub = np.unique(subclass[subclass >= 0]).size
        return [f"optimal full matching: {n_sub} subclasses, MatchIt's {matcher.estimand} weights"]
    return []


def caliper_notes(matcher: PropensityMatcher) -> list[str]:
    """Units the caliper dropped, what that does to the estimand and how they differ."""
    dropped = matcher.dropped_by_caliper_
    if not dropped:
        return []
    group = {"ATT": "treated", "ATC": "control", "ATE": "focal"}[matcher.estimand]
    why = "within the caliper" if matcher.caliper is not None else "left (matching without replacement)"
    note = (
        f"{dropped} {group} units had no match {why} and were dropped: the "
        f"estimate is the {matcher.estimand} of the matched {group} units"
    )
    if matcher.covariates_ is not None and matcher.feature_names_:
        n = matcher.treated_.size
        focal = np.zeros(n, bool)
        matched = np.zeros(n, bool)
        for r in matcher.results_:
            focal[matcher.treated_ == matcher.treated_[r.matched_focal[0]]] = True
            matched[r.matched_focal] = True
        lost, kept = matcher.covariates_[focal & ~matched], matcher.covariates_[matched]
        sd = matcher.covariates_[focal].std(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            smd = np.where(sd > 0, (lost.mean(axis=0) - kept.mean(axis=0)) / sd, 0.0)
        top = np.argsort(-np.abs(smd))[:3]
        note += "; they differ most from the matched ones in " + ", ".join(
            f"{matcher.feature_names_[j]} (SMD {smd[j]:+.2f})" for j in top
        )
    return [note]


def score_term(
    matcher: PropensityMatcher, se: float, y: np.ndarray, tau: float, notes: list[str]
) -> tuple[float, str]:
    """Add the Abadie-Imbens (2016) estimated-score term to the variance of matching with
    replacement when the score came from the logistic model; otherwise say that the score is
    treated as known.

    With the bias correction the term is computed on the outcome net of the regression the
    correction uses (the corrected estimator matches on those residuals); for the
    bias-corrected ATE, which uses two regressions, it is left out (conservative for the ATE).
    """
    t = matcher.treated_
    known = "variance: Abadie-Imbens (2006); the propensity score is treated as known"
    if matcher.score_design_ is None or min(t.sum(), (1 - t).sum()) <= SCORE_NEIGHBOURS:
        notes.append(known)
        return se, "Abadie-Imbens"
    if matcher.adjusts_:
        if matcher.estimand == "ATE":
            notes.append(known + " (conservative for the ATE, Abadie-Imbens 2016)")
            return se, "Abadie-Imbens"
        y = matcher.corrected(y, matcher.results_[0])
    width = max(SCORE_NEIGHBOURS, matcher.ratio)
    order = np.argsort(matcher.distance_, kind="stable")
    near = tuple(nearest_in_group(matcher.distance_, t, g, width, order) for g in (0, 1))
    imputed0 = y[near[0][:, : matcher.ratio]].mean(axis=1)
    imputed1 = y[near[1][:, : matcher.ratio]].mean(axis=1)
    unit_effects = np.where(t == 1, y - imputed0, imputed1 - y)
    neighbours = (near[0][:, :SCORE_NEIGHBOURS], near[1][:, :SCORE_NEIGHBOURS])
    term = estimated_score_adjustment(
        matcher.estimand, matcher.score_design_, matcher.score_, t, y, unit_effects, tau, neighbours
    )
    if se**2 + term <= 0:
        notes.append(known + " (the estimated-score term gave a negative variance)")
        return se, "Abadie-Imbens"
    notes.append("variance: Abadie-Imbens (2006) plus the estimated-score term (Abadie-Imbens 2016)")
    return float(np.sqrt(se**2 + term)), "Abadie-Imbens, estimated score"


def bootstrap_se(
    matcher: PropensityMatcher, y: np.ndarray, subclass: np.ndarray, notes: list[str]
) -> tuple[float, str]:
    """Bootstrap standard error (without replacement). With the logistic score's design,
    every replicate resamples units, refits the score, matches again and re-estimates, so the
    score's estimation is included; otherwise matched sets are resampled (Austin & Small 2014)
    and the estimate recomputed with the resampled sets' weights (the score taken as known).
    """
    rng = np.random.default_rng(matcher.random_state)
    if matcher.score_design_ is None:
        sets, codes = np.unique(subclass[subclass >= 0], return_inverse=True)
        position = np.full(y.size, -1)
        position[subclass >= 0] = codes
        weights = matcher.weights_
        estimates = []
        for _ in progress(range(matcher.n_bootstrap), "bootstrap", matcher.n_bootstrap, matcher.verbose):
            count = np.bincount(rng.integers(0, sets.size, sets.size), minlength=sets.size)
            w = np.where(position >= 0, weights * count[position], 0.0)
            estimates.append(matcher.regression(y, w)[0])
        notes.append("the bootstrap keeps the matched sets fixed: the score is treated as known")
        return float(np.std(estimates, ddof=1)), f"bootstrap of matched sets ({matcher.n_bootstrap})"
    if not hasattr(matcher, "replicates_"):
        n, p = y.size, 0 if matcher.covariates_ is None else matcher.covariates_.shape[1]
        gigabytes = matcher.n_bootstrap * n * (p + 8) * 8 / 1e9
        if gigabytes > 4:
            raise DesignError(
                "methods.psm.n_bootstrap",
                f"{matcher.n_bootstrap} replicates of {n:,} rows would hold about {gigabytes:.0f} GB; "
                "lower n_bootstrap or use se: auto",
            )
        matcher.replicates_ = bootstrap_replicates(matcher, rng)
    refitted = np.array([fit.point_estimate(y[idx]) for idx, fit in matcher.replicates_])
    failed = matcher.n_bootstrap - len(matcher.replicates_)
    if failed:
        notes.append(f"{failed} bootstrap replicates could not be matched and were left out")
    return float(np.std(refitted, ddof=1)), f"bootstrap ({len(refitted)} replicates, score refitted)"


def bootstrap_replicates(
    matcher: PropensityMatcher, rng: np.random.Generator
) -> list[tuple[np.ndarray, PropensityMatcher]]:
    """Resample units, refit the logistic score and match again, ``n_bootstrap`` times."""
    t, x = matcher.treated_, matcher.score_design_
    assert x is not None  # bootstrap_se refits the score only when its design was given
    params = {**matcher.get_params(), "se": "matched-sets", "verbose": False}
    out = []
    for _ in progress(range(matcher.n_bootstrap), "bootstrap", matcher.n_bootstrap, matcher.verbose):
        idx = rng.integers(0, t.size, t.size)
        try:
            score = expit(x[idx] @ fit_logistic(x[idx], t[idx]))
            fit = type(matcher)(**params).fit(
                score,
                t[idx],
                take_rows(matcher.strata_, idx),
                take_rows(matcher.covariates_, idx),
                feature_names=matcher.feature_names_,
            )
        except DesignError:
            continue
        out.append((idx, fit))
    return out


def take_rows(values: np.ndarray | None, idx: np.ndarray) -> np.ndarray | None:
    return None if values is None else values[idx]


def fitted_in_group(x: np.ndarray, y: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Fitted values for every unit of the OLS of y on (1, x) within ``group``, from the normal
    equations (X'X)^+ X'y: the minimum-norm solution, as a least-squares solver gives, without a
    decomposition of the group's n x p design."""
    design = np.column_stack([np.ones(x.shape[0]), x])
    rows = design[group]
    return design @ (np.linalg.pinv(rows.T @ rows) @ (rows.T @ y[group]))
