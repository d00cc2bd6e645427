"""The doubly robust dose-response curve of a continuous dose (Kennedy, Ma, McHugh & Small 2017).

mu(d) = E[Y(d)] is estimated in two stages. First the nuisances, cross-fitted over folds: the
conditional density of the dose pi(d | x), a normal linear model D = x'b + e, e ~ N(0, s^2)
(Hirano & Imbens 2004), and the outcome regression m(x, d), least squares on (1, x, d, d^2, d^3,
d * x) with d standardised. Then every unit's pseudo-outcome

    xi_i = (Y_i - m(X_i, D_i)) / pi(D_i | X_i) * P(D_i) + M(D_i),

with P(d) = mean_j pi(d | X_j) the marginal density and M(d) = mean_j m(X_j, d), is smoothed on
the dose by a local polynomial regression with a Gaussian kernel; its mean at d is mu(d) when
either nuisance is right. The inverse-probability version sets m = 0 (xi = Y P(D) / pi(D | X)),
the unadjusted one xi = Y.

The bandwidth h minimises the leave-one-out error of the local linear fit (Kennedy et al.,
section 3.5) over 15 multiples of Silverman's rule. At that h a local linear fit is biased by
about h^2 mu''(d) / 2, as large as its standard error, so the curve is the local quadratic fit at
the same h: robust bias correction with pilot bandwidth equal to h (Calonico, Cattaneo & Farrell
2018), whose interval accounts for the correction. The pointwise standard error is the sandwich
of that fit, sum_i (l_i(d) r_i(d))^2 with l_i(d) the smoother's weights and r_i(d) the local
residuals (Kennedy et al., Theorem 2), plus for AIPW the variation of M(d) over the sample,
(m(X_i, d) - M(d)) / n per unit, which is of the same order at the sample sizes of evaluations.
In a check (benchmarks/continuous_dose_coverage.py: 85-93% at n = 2,000) the intervals fall
short of 95%, most at the ends of the dose range, where few units carry large weights, and where
the outcome model misses an interaction; the run's warnings say so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..stats.sandwich import influence_sum_squares

# pi(D_i | X_i), P(D_i) and the dose's standardisation (centre, scale), as dose_density gives them
Density = tuple[np.ndarray, np.ndarray, tuple[float, float]]
GRID = 200  # points on which the marginal density and M(d) are computed, then interpolated
_CV_POINTS = 4000  # evaluation points of the leave-one-out error (a seeded subsample when more)


@dataclass(frozen=True)
class DoseNuisances:
    """Every unit's nuisances at its own dose: pi(D_i | X_i), P(D_i), m(X_i, D_i) and M(D_i)."""

    density: np.ndarray
    marginal: np.ndarray
    outcome: np.ndarray
    average: np.ndarray
    # for m(X_i, d) at other doses: covariates, folds, each fold's outcome coefficients, the dose's
    # standardisation
    x: np.ndarray
    fold: np.ndarray
    coefficients: tuple[np.ndarray, ...]
    centre: float
    scale: float

    def outcome_at(self, points: np.ndarray) -> np.ndarray:
        """m(X_i, d) of every unit (its own fold's model) at every dose of ``points``: (n, P)."""
        out = np.empty((self.fold.size, points.size))
        for f, coef in enumerate(self.coefficients):
            rows = self.fold == f
            for j, point in enumerate(points):
                dose = np.full(int(rows.sum()), (point - self.centre) / self.scale)
                out[rows, j] = _outcome_basis(self.x[rows], dose) @ coef
        return out

    def pseudo_outcome(self, y: np.ndarray) -> np.ndarray:
        """The doubly robust pseudo-outcome xi = (Y - m(X, D)) P(D) / pi(D | X) + M(D)."""
        return (y - self.outcome) * self.marginal / self.density + self.average


def _folds(n: int, folds: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).permutation(n) % folds


def _least_squares(design: np.ndarray, target: np.ndarray, w: np.ndarray) -> np.ndarray:
    root = np.sqrt(w)
    return np.linalg.lstsq(design * root[:, None], target * root, rcond=None)[0]


def _outcome_basis(x: np.ndarray, dose: np.ndarray) -> np.ndarray:
    """(1, x, d, d^2, d^3, d * x) for a standardised dose d."""
    ones = np.ones((x.shape[0], 1))
    return np.column_stack([ones, x, dose, dose**2, dose**3, dose[:, None] * x])


def dose_nuisances(
    x: np.ndarray,
    dose: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray | None = None,
    folds: int = 5,
    seed: int = 0,
    density: Density | None = None,
) -> DoseNuisances:
    """Cross-fitted nuisances of the pseudo-outcome (see the module docstring).

    Parameters
    ----------
    x : numpy.ndarray
        (n, p) covariates.
    dose : numpy.ndarray
        (n,) the dose.
    y : numpy.ndarray
        (n,) the outcome.
    sample_weight : numpy.ndarray or None
        Sampling weights of every fit and every mean.
    folds : int
        Cross-fitting folds: each unit's nuisances come from models fitted on the other folds.
    seed : int
        Seed of the fold assignment.
    density : tuple or None
        :func:`dose_density` of the same units, folds and seed when already computed.

    Returns
    -------
    DoseNuisances
    """
    n = y.size
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    own, marginal, (centre, scale) = density or dose_density(x, dose, s, folds, seed)
    d = (dose - centre) / scale
    grid = np.linspace(d.min(), d.max(), GRID)
    fold = _folds(n, folds, seed)
    outcome = np.empty(n)
    average_grid = np.zeros(GRID)
    coefficients = []
    for f in range(folds):
        test, train = fold == f, fold != f
        coef = _least_squares(_outcome_basis(x[train], d[train]), y[train], s[train])
        outcome[test] = _outcome_basis(x[test], d[test]) @ coef
        coefficients.append(coef)
        # M on the grid: m is linear in x at a given dose, so its mean over the fold's units is m
        # at their mean covariates
        centroid = np.average(x[test], axis=0, weights=s[test])
        at_grid = _outcome_basis(np.tile(centroid, (GRID, 1)), grid) @ coef
        average_grid += at_grid * s[test].sum() / s.sum()
    return DoseNuisances(
        density=own,
        marginal=marginal,
        outcome=outcome,
        average=np.interp(d, grid, average_grid),
        x=x,
        fold=fold,
        coefficients=tuple(coefficients),
        centre=centre,
        scale=scale,
    )


def dose_density(
    x: np.ndarray, dose: np.ndarray, s: np.ndarray, folds: int = 5, seed: int = 0
) -> Density:
    """pi(D_i | X_i) and P(D_i) of every unit, cross-fitted (normal linear model of the
    standardised dose; P on a grid of ``GRID`` doses, interpolated), and the dose's
    standardisation (centre, scale). Both densities are of the standardised dose: their ratio,
    the stabilised weight P(D) / pi(D | X), is the same on either scale."""
    n = dose.size
    centre, scale = float(np.average(dose, weights=s)), float(np.sqrt(np.cov(dose, aweights=s)))
    d = (dose - centre) / scale
    grid = np.linspace(d.min(), d.max(), GRID)
    fold = _folds(n, folds, seed)
    design = np.column_stack([np.ones(n), x])
    mean, sd = np.empty(n), np.empty(n)
    for f in range(folds):
        test, train = fold == f, fold != f
        b = _least_squares(design[train], d[train], s[train])
        mean[test] = design[test] @ b
        sd[test] = np.sqrt(np.average((d[train] - design[train] @ b) ** 2, weights=s[train]))
    marginal_grid = np.zeros(GRID)
    for chunk in np.array_split(np.arange(n), max(1, n // 20000)):
        marginal_grid += s[chunk] @ _normal(grid[None, :], mean[chunk, None], sd[chunk, None])
    marginal_grid /= s.sum()
    return _normal(d, mean, sd), np.interp(d, grid, marginal_grid), (centre, scale)


def _normal(value: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    z = (value - mean) / sd
    return np.exp(-0.5 * z**2) / (sd * np.sqrt(2.0 * np.pi))


@dataclass(frozen=True)
class LocalFit:
    """A local polynomial fit of xi on the dose at ``points`` with bandwidth ``bandwidth``: the
    estimates and, for the sandwich, every unit's influence at each point (n, P)."""

    points: np.ndarray
    bandwidth: float
    estimate: np.ndarray
    influence: np.ndarray

    def std_error(self, cluster: np.ndarray | None = None) -> np.ndarray:
        """Pointwise sandwich standard errors (clustered: influences summed within clusters,
        times G / (G - 1))."""
        return np.sqrt(influence_sum_squares(self.influence, cluster))

    def contrast_se(self, a: int, b: int, cluster: np.ndarray | None = None) -> float:
        """Standard error of estimate[a] - estimate[b] (the same units enter both)."""
        difference = self.influence[:, [a]] - self.influence[:, [b]]
        return float(np.sqrt(influence_sum_squares(difference, cluster))[0])


def _smoother(dose: np.ndarray, s: np.ndarray, points: np.ndarray, h: float, degree: int = 1):
    """The local polynomial fit at each point: u (n, P), every unit's weight in the fitted level
    (n, P) and the fitted polynomial's coefficients as weights (degree + 1, n, P)."""
    u = (dose[:, None] - points[None, :]) / h
    k = s[:, None] * np.exp(-0.5 * u**2)
    if degree == 1:  # closed form, for the many fits of the bandwidth search
        s0, s1, s2 = k.sum(axis=0), (k * u).sum(axis=0), (k * u**2).sum(axis=0)
        det = s0 * s2 - s1**2
        level = k * (s2 - s1 * u) / det
        return u, level, np.stack([level, k * (s0 * u - s1) / det])
    powers = np.stack([u**r for r in range(degree + 1)])  # (q, n, P)
    moments = np.einsum("anp,bnp,np->pab", powers, powers, k)  # (P, q, q)
    inverse = np.linalg.inv(moments)
    coefficients = np.einsum("pab,bnp,np->anp", inverse, powers, k)  # (q, n, P)
    return u, coefficients[0], coefficients


def _chunks(n: int, points: int) -> list[np.ndarray]:
    """Blocks of evaluation points small enough that an (n, block) matrix stays near 20M values."""
    size = max(1, 20_000_000 // max(n, 1))
    return [np.arange(i, min(i + size, points)) for i in range(0, points, size)]


def local_polynomial(
    dose: np.ndarray,
    xi: np.ndarray,
    points: np.ndarray,
    bandwidth: float,
    sample_weight: np.ndarray | None = None,
    degree: int = 1,
) -> LocalFit:
    """The local polynomial regression of ``xi`` on ``dose`` at ``points`` (Gaussian kernel,
    ``degree`` 1: local linear; 2: local quadratic): at each point d, theta(d) = sum_i l_i(d) xi_i,
    the fitted intercept of the weighted least squares of xi on (1, u, u^2...) with u_i = (D_i - d) / h
    and weights s_i exp(-u_i^2 / 2); every unit's influence is l_i(d) times its local residual."""
    s = np.ones(xi.size) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    estimate = np.empty(points.size)
    influence = np.empty((xi.size, points.size))
    for block in _chunks(xi.size, points.size):
        u, loading, coefficients = _smoother(dose, s, points[block], bandwidth, degree)
        beta = np.einsum("anp,n->ap", coefficients, xi)  # (q, P)
        fitted = sum(beta[r][None, :] * u**r for r in range(degree + 1))
        estimate[block] = beta[0]
        influence[:, block] = loading * (xi[:, None] - fitted)
    return LocalFit(points, bandwidth, estimate, influence)


def choose_bandwidth(
    dose: np.ndarray, xi: np.ndarray, sample_weight: np.ndarray | None = None, seed: int = 0
) -> float:
    """The bandwidth minimising the leave-one-value-out squared error of the local linear fit,
    sum_i s_i (xi_i - theta_(-i)(D_i))^2 over (at most ``_CV_POINTS`` seeded) units i, among 15
    multiples (1/4 to 4) of Silverman's rule 1.06 sd(D) n^(-1/5). theta_(-i) leaves out every unit
    at D_i's value, not only i: with tied doses (whole months, amounts in round figures) leaving
    out one unit keeps its twins, and the error would favour the smallest bandwidth. At the point
    D_i those units have u = 0, so they enter the fit's sums S0 = sum k and T0 = sum k xi only."""
    n = xi.size
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(n, _CV_POINTS, replace=False) if n > _CV_POINTS else np.arange(n)
    _, tie = np.unique(dose, return_inverse=True)
    tie_weight, tie_total = np.bincount(tie, weights=s), np.bincount(tie, weights=s * xi)
    rule = 1.06 * np.sqrt(np.cov(dose, aweights=s)) * n ** (-0.2)
    candidates = rule * np.geomspace(0.25, 4.0, 15)
    errors = np.zeros((candidates.size, chosen.size))
    for c, h in enumerate(candidates):
        for block in _chunks(n, chosen.size):
            rows = chosen[block]
            u = (dose[:, None] - dose[rows][None, :]) / h
            k = s[:, None] * np.exp(-0.5 * u**2)
            s0 = k.sum(axis=0) - tie_weight[tie[rows]]
            s1, s2 = (k * u).sum(axis=0), (k * u**2).sum(axis=0)
            t0 = xi @ k - tie_total[tie[rows]]
            t1 = xi @ (k * u)
            det = s0 * s2 - s1**2
            level = np.divide(s2 * t0 - s1 * t1, det, out=np.zeros(rows.size), where=det > 0)
            errors[c, block] = s[rows] * (xi[rows] - level) ** 2
    return float(candidates[int(np.argmin(errors.sum(axis=1)))])


def continuous_curve(
    x: np.ndarray,
    dose: np.ndarray,
    y: np.ndarray,
    method: str,
    points: np.ndarray,
    sample_weight: np.ndarray | None = None,
    folds: int = 5,
    seed: int = 0,
    density: Density | None = None,
) -> LocalFit:
    """The dose-response curve of ``method`` (``"naive"``, ``"ipw"`` or ``"aipw"``) at
    ``points``: pseudo-outcomes (Y; Y P(D) / pi(D | X); the doubly robust xi), the leave-one-out
    bandwidth of the local linear fit, the local quadratic fit at that bandwidth and, for AIPW,
    the variation of M(d) in the influence. ``density``: :func:`dose_density` of the same units,
    folds and seed, shared by the methods of one outcome."""
    s = np.ones(y.size) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    nuisances = None
    if method == "naive":
        xi = y
    else:
        density = density or dose_density(x, dose, s, folds, seed)
        if method == "aipw":
            nuisances = dose_nuisances(x, dose, y, s, folds, seed, density)
            xi = nuisances.pseudo_outcome(y)
        else:
            xi = y * density[1] / density[0]
    bandwidth = choose_bandwidth(dose, xi, s, seed)
    fit = local_polynomial(dose, xi, points, bandwidth, s, degree=2)
    if nuisances is None:
        return fit
    m = nuisances.outcome_at(points)
    spread = s[:, None] * (m - (s @ m / s.sum())[None, :]) / s.sum()
    return LocalFit(points, bandwidth, fit.estimate, fit.influence + spread)
