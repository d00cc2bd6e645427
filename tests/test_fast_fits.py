"""The fast model fits give what the direct computations give: the blockwise Newton-Raphson
logistic fit (plain, weighted, Firth's) against a dense textbook Newton, warm starts against cold
ones, AIPW's one-pass Gram least squares against ``numpy.linalg.lstsq`` fold by fold (sampling
weights, a rank-deficient arm), the refutations without a refit of the original estimate, and
EconML imported without Ray."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from reimpact.design.propensity import PropensityModel, fit_logistic, stratified_folds
from reimpact.estimators.aipw import CrossFittedAIPW, cross_fitted_ols
from reimpact.sensitivity import refutation


def _logistic_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.column_stack([np.ones(n), rng.normal(size=(n, 3)), rng.random(n) < 0.2])
    t = (rng.random(n) < 1 / (1 + np.exp(-(-1.0 + x[:, 1:4] @ [0.6, -0.4, 0.3])))).astype(np.int8)
    return x, t


def _dense_newton(x, t, s=None, firth=False, tol=1e-12):
    """Textbook Newton-Raphson (Firth: penalised score, step halving on the penalised
    log-likelihood), every quantity from dense n x p arrays."""
    s = np.ones(t.size) if s is None else s
    beta = np.zeros(x.shape[1])

    def penalised(b):
        p = 1 / (1 + np.exp(-(x @ b)))
        gram = x.T @ (x * (p * (1 - p))[:, None])
        return np.sum(t * np.log(p) + (1 - t) * np.log1p(-p)) + 0.5 * np.linalg.slogdet(gram)[1]

    for _ in range(200):
        p = 1 / (1 + np.exp(-(x @ beta)))
        w = s * p * (1 - p)
        hessian = x.T @ (x * w[:, None])
        residual = s * (t - p)
        if firth:
            residual = residual + w * np.sum(x * np.linalg.solve(hessian, x.T).T, axis=1) * (0.5 - p)
        step = np.linalg.solve(hessian, x.T @ residual)
        while firth and penalised(beta + step) < penalised(beta) and np.abs(step).max() > tol:
            step = step / 2
        beta = beta + step
        if np.abs(step).max() < tol:
            return beta
    raise AssertionError("the reference Newton did not converge")


@pytest.mark.parametrize("weighted", [False, True])
def test_blockwise_newton_equals_dense_newton(weighted):
    """More rows than one block (16384), so the sums run over several blocks."""
    x, t = _logistic_data(40_000)
    s = np.random.default_rng(1).exponential(size=t.size) if weighted else None
    want = _dense_newton(x, t, s)
    np.testing.assert_allclose(fit_logistic(x, t, sample_weight=s), want, rtol=0, atol=1e-10)
    got = fit_logistic(x[:, 1:], t, sample_weight=s, intercept=True)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


@pytest.mark.parametrize("weighted", [False, True])
def test_warm_start_gives_the_same_optimum(weighted):
    x, t = _logistic_data(30_000, seed=2)
    s = np.random.default_rng(3).exponential(size=t.size) if weighted else None
    cold = fit_logistic(x, t, sample_weight=s)
    neighbour = fit_logistic(x[5000:], t[5000:], sample_weight=None if s is None else s[5000:])
    for start in (neighbour, cold + 0.1, np.full(x.shape[1], 40.0)):  # the last one diverges
        np.testing.assert_allclose(
            fit_logistic(x, t, sample_weight=s, start=start), cold, rtol=0, atol=1e-10
        )
    with pytest.raises(ValueError, match="start must hold 5 coefficients"):
        fit_logistic(x, t, start=np.zeros(3))


def test_propensity_model_warm_start_reuses_the_last_coefficients():
    x, t = _logistic_data(5000, seed=4)
    model = PropensityModel("logistic", warm_start=True).fit(x[:3000, 1:], t[:3000])
    first = model.coef_
    model.fit(x[2000:, 1:], t[2000:])
    cold = PropensityModel("logistic").fit(x[2000:, 1:], t[2000:])
    assert model.coef_ is not first
    np.testing.assert_allclose(model.coef_, cold.coef_, rtol=0, atol=1e-10)
    np.testing.assert_allclose(model.predict(x[:10, 1:]), cold.predict(x[:10, 1:]), atol=1e-12)


def test_firth_fit_is_unchanged_on_separated_data():
    """A covariate level holding controls only: maximum likelihood diverges, Firth's fit equals
    the dense reference and its penalised score is zero."""
    rng = np.random.default_rng(5)
    n = 300
    x = np.column_stack([np.ones(n), np.r_[np.ones(30), np.zeros(n - 30)], rng.normal(size=n)])
    t = np.where(x[:, 1] == 1, 0, (rng.random(n) < 0.4)).astype(float)
    want = _dense_newton(x, t, firth=True, tol=1e-9)
    got = fit_logistic(x, t, firth=True)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)  # Firth's Newton stops at tol 1e-6
    p = 1 / (1 + np.exp(-(x @ got)))
    w = p * (1 - p)
    leverage = w * np.sum(x * np.linalg.solve(x.T @ (x * w[:, None]), x.T).T, axis=1)
    assert np.abs(x.T @ (t - p + leverage * (0.5 - p))).max() < 1e-6
    np.testing.assert_allclose(fit_logistic(x, t, firth=True, start=got), got, rtol=0, atol=1e-6)


def _lstsq_predictions(x, t, y, s, fold, folds):
    """The outcome models fold by fold and arm by arm, by SVD least squares on (1, X)."""
    mu = {0: np.empty_like(y), 1: np.empty_like(y)}
    for k in range(folds):
        for group in (0, 1):
            rows = (fold != k) & (t == group)
            root = np.sqrt(s[rows])[:, None]
            design = np.column_stack([np.ones(rows.sum()), x[rows]])
            coef = np.linalg.lstsq(design * root, y[rows] * root, rcond=None)[0]
            mu[group][fold == k] = np.column_stack([np.ones((fold == k).sum()), x[fold == k]]) @ coef
    return mu[1], mu[0]


@pytest.mark.parametrize("case", ["plain", "weighted", "rank_deficient"])
def test_gram_least_squares_equal_lstsq(case):
    rng = np.random.default_rng(6)
    n = 40_000
    x = np.column_stack([rng.normal(5, 2, size=(n, 3)), rng.random(n) < 0.1])
    t = (rng.random(n) < 0.3).astype(np.int8)
    if case == "rank_deficient":
        x[t == 1, 3] = 0  # a dummy never on in the treated arm
        x[:, 2] = 2 * x[:, 1] - 3  # and two collinear columns
    y = np.column_stack([x @ [1, 0.5, -0.2, 2] + t + rng.normal(size=n), rng.normal(size=n)])
    s = rng.exponential(size=n) if case == "weighted" else np.ones(n)
    fold = stratified_folds(t, 5)
    got = cross_fitted_ols(x, t, y, s, fold, 5)
    want = _lstsq_predictions(x, t, y, s, fold, 5)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)


def test_cross_fitted_scores_with_warm_starts_equal_cold_fits():
    x, t = _logistic_data(20_000, seed=7)
    y = x[:, 1] + t + np.random.default_rng(8).normal(size=t.size)
    fitted = CrossFittedAIPW("ATE", clip=0.0).fit(x[:, 1:], t, y)
    fold = stratified_folds(t.astype(np.int8), 5)
    for k in range(5):
        model = PropensityModel("logistic").fit(x[fold != k, 1:], t[fold != k])
        want = model.predict(x[fold == k, 1:])
        np.testing.assert_allclose(fitted.raw_e_[fold == k], want, rtol=0, atol=1e-12)
    started = CrossFittedAIPW("ATE", clip=0.0).fit(x[:, 1:], t, y, propensity_start=np.ones(5))
    np.testing.assert_allclose(started.raw_e_, fitted.raw_e_, rtol=0, atol=1e-12)


def test_refutations_refit_only_the_simulations(monkeypatch):
    """3 simulations of three refuters and one unobserved common cause: 10 refits, none of the
    original estimate, whose value DoWhy is handed."""
    calls = []
    fit = refutation._estimate

    def counted(*args):
        calls.append(args[0])
        return fit(*args)

    monkeypatch.setattr(refutation, "_estimate", counted)
    rng = np.random.default_rng(9)
    x = rng.normal(size=(400, 2))
    t = (rng.random(400) < 0.4).astype(np.int8)
    y = x[:, 0] + t + rng.normal(size=400)
    found = refutation.refute(x, t, y, "y", "psm", {"estimand": "ATT"}, 1.25, 0.1, 3, 1, 11)
    assert len(calls) == 3 * 3 + 1
    assert {r.original for r in found} == {1.25}


def test_econml_is_imported_without_ray():
    """Unless Ray is already imported; afterwards Ray can still be imported."""
    pytest.importorskip("ray")
    code = (
        "import sys; from reimpact.sensitivity.heterogeneity import _linear_dr_learner\n"
        "_linear_dr_learner(); assert 'ray' not in sys.modules, 'ray imported'\n"
        "import ray; print(ray.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ray"
