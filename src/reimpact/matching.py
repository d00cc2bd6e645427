"""Nearest-neighbour matching on a one-dimensional distance (the logit of the propensity score by
default), fast enough for millions of units.

Both searches work on the candidates sorted once by distance:

* with replacement, each focal unit's k nearest candidates are found by walking left and right from
  its insertion point (O(k) per unit);
* without replacement (greedy, MatchIt's ``method = "nearest"``), focal units are taken in the
  chosen order and each takes the nearest *available* candidate. Two union-find structures with
  path compression give the next available candidate on each side in near-constant time, so the
  whole match costs a sort plus O(n alpha(n)). With ``ratio = k`` matching goes in rounds: every
  focal unit gets its first match before any gets its second (as MatchIt does).

A match is kept only within the caliper, ``caliper`` standard deviations of the distance: pooled
over the two groups (``caliper_scale='pooled'``, Austin 2011: sqrt((s_t^2 + s_c^2) / 2)) or over all
units (``'all'``, as MatchIt defines it). Focal units left without any match are dropped and
counted: the estimand becomes the effect on the *matched* focal units. With replacement, every
candidate tied at the k-th distance is used (``ties='all'``, Abadie & Imbens 2006's definition of
the matched set), the focal unit's weight shared among them; with ``ties='first'`` (and always
without replacement) a tie goes to the candidate with the smaller distance value, then to the
earlier row. With ``exact`` strata, matches are only made within a stratum.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numba
import numpy as np

from ._deprecation import moved
from ._progress import progress
from .estimators.matching import matching_option_problem
from .exceptions import DesignError
from .inference import (
    abadie_imbens_se,
    estimated_score_adjustment,
    matched_regression,
    matching_conditional_variance,
    sandwich_se,
    two_way_se,
)
from .propensity import expit, fit_logistic
from .results import Effect

if TYPE_CHECKING:
    import pandas as pd

Order = Literal["largest", "smallest", "random", "data"]
Ties = Literal["all", "first"]
CaliperScale = Literal["pooled", "all"]
_NONE = -1
_SCORE_NEIGHBOURS = 4  # neighbours for cov(X, mu(w, X) | score) in the estimated-score adjustment


@numba.njit(cache=True)
def _find(parent: np.ndarray, i: int) -> int:
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:  # path compression
        nxt = parent[i]
        parent[i] = root
        i = nxt
    return root


@numba.njit(cache=True)
def _greedy_kernel(cvals, fvals, start, ratio, caliper):
    """Greedy matching without replacement of focal values (in matching order) to sorted candidate
    values. ``start[q]`` is the insertion point of focal q. Returns candidate positions (n_f, ratio),
    -1 where no match. ``caliper < 0`` means none."""
    m = cvals.shape[0]
    nf = fvals.shape[0]
    right = np.arange(m + 1)  # right[i]: i if position i is available, else points rightwards
    left = np.arange(m + 1)  # left[i + 1]: for position i, points leftwards; left[0] = "none"
    out = np.full((nf, ratio), -1, dtype=np.int64)
    for r in range(ratio):
        for q in range(nf):
            if r > 0 and out[q, r - 1] < 0:
                continue  # no match within the caliper before: none now, with fewer candidates
            x = fvals[q]
            p = start[q]
            a = _find(right, p)
            b = _find(left, p) - 1
            da = cvals[a] - x if a < m else np.inf
            db = x - cvals[b] if b >= 0 else np.inf
            if db <= da:
                pick, d = b, db
            else:
                pick, d = a, da
            if pick < 0 or pick >= m or d == np.inf:
                continue
            if caliper >= 0 and d > caliper:
                continue
            out[q, r] = pick
            right[pick] = pick + 1
            left[pick + 1] = pick
    return out


@numba.njit(cache=True, parallel=True)
def _knn_kernel(cvals, fvals, start, k, caliper, self_pos):
    """The k nearest sorted candidates of each focal value (with replacement), skipping the
    candidate at ``self_pos[q]`` (>= 0 when focal q is itself a candidate). -1 where none."""
    m = cvals.shape[0]
    nf = fvals.shape[0]
    out = np.full((nf, k), -1, dtype=np.int64)
    for q in numba.prange(nf):
        x = fvals[q]
        lo = start[q] - 1
        hi = start[q]
        r = 0
        while r < k:
            if self_pos[q] >= 0 and hi == self_pos[q]:
                hi += 1
            dl = x - cvals[lo] if lo >= 0 else np.inf
            dh = cvals[hi] - x if hi < m else np.inf
            if dl == np.inf and dh == np.inf:
                break
            if dl <= dh:
                pick, d = lo, dl
                lo -= 1
            else:
                pick, d = hi, dh
                hi += 1
            if caliper >= 0 and d > caliper:
                break
            out[q, r] = pick
            r += 1
    return out


@numba.njit(cache=True)
def _tie_window(cvals, fvals, picks):
    """Widen each focal unit's k nearest (a contiguous run of sorted candidates) to every candidate
    tied at the k-th distance. Returns the first and last sorted positions (-1 where unmatched)."""
    m = cvals.shape[0]
    nf, k = picks.shape
    out = np.full((nf, 2), -1, dtype=np.int64)
    for q in range(nf):
        if picks[q, 0] < 0:
            continue
        x = fvals[q]
        lo = picks[q, 0]
        hi = picks[q, 0]
        kth = 0.0
        for r in range(k):
            p = picks[q, r]
            if p < 0:
                break
            lo = min(lo, p)
            hi = max(hi, p)
            kth = max(kth, abs(cvals[p] - x))
        while lo > 0 and x - cvals[lo - 1] == kth:
            lo -= 1
        while hi < m - 1 and cvals[hi + 1] - x == kth:
            hi += 1
        out[q, 0] = lo
        out[q, 1] = hi
    return out


@dataclass(frozen=True)
class MatchResult:
    """Who is matched to whom.

    One row per match: ``focal[i]`` was matched to ``matched[i]`` with ``weight[i] = 1 / k_f`` (k_f:
    the number of matches of that focal unit); ``matched_focal`` lists the focal units with at least
    one match. Indices refer to the arrays given to :func:`match`.
    """

    focal: np.ndarray
    matched: np.ndarray
    weight: np.ndarray
    matched_focal: np.ndarray
    n_focal: int
    dropped_by_caliper: int
    caliper_width: float | None
    replace: bool
    ratio: int

    @property
    def n_focal_matched(self) -> int:
        return int(self.matched_focal.size)

    def match_counts(self, n: int) -> np.ndarray:
        """u_j = sum over the focal units f that use j of 1/k_f (0 for unused units)."""
        return np.bincount(self.matched, weights=self.weight, minlength=n)

    def unit_weights(self, n: int) -> np.ndarray:
        """Matching weights: 1 for matched focal units, u_j for matches, 0 otherwise."""
        w = self.match_counts(n)
        w[self.matched_focal] += 1.0
        return w

    def subclass(self, n: int) -> np.ndarray:
        """Matched-set id of every unit (the focal unit's index), -1 for unmatched units. Defined
        without replacement only, where every match belongs to a single set."""
        if self.replace:
            raise ValueError("matched sets are not disjoint when matching with replacement")
        out = np.full(n, _NONE, dtype=np.int64)
        out[self.matched] = self.focal
        out[self.matched_focal] = self.matched_focal
        return out


def caliper_width(
    distance: np.ndarray, treated: np.ndarray, caliper: float | None, scale: CaliperScale = "pooled"
) -> float | None:
    """``caliper`` standard deviations of the distance (None: no caliper): the pooled SD
    sqrt((s_t^2 + s_c^2) / 2) (``scale='pooled'``, Austin 2011) or the SD over all units
    (``'all'``, MatchIt's definition)."""
    if caliper is None:
        return None
    if scale == "all":
        return float(caliper * np.std(distance, ddof=1))
    pooled = np.sqrt(
        (np.var(distance[treated == 1], ddof=1) + np.var(distance[treated == 0], ddof=1)) / 2.0
    )
    return float(caliper * pooled)


def _focal_order(values: np.ndarray, order: Order, rng: np.random.Generator) -> np.ndarray:
    if order == "largest":
        return np.argsort(-values, kind="stable")
    if order == "smallest":
        return np.argsort(values, kind="stable")
    if order == "random":
        return rng.permutation(values.size)
    return np.arange(values.size)


def match(
    distance: np.ndarray,
    focal: np.ndarray,
    ratio: int = 1,
    replace: bool = False,
    caliper: float | None = None,
    order: Order = "largest",
    strata: np.ndarray | None = None,
    random_state: int = 0,
    ties: Ties = "first",
) -> MatchResult:
    """Match every focal unit (``focal`` True) to ``ratio`` nearest non-focal units (with
    replacement and ``ties='all'``, to every candidate tied at the ``ratio``-th distance too).

    ``caliper`` is an absolute width on the distance scale (see :func:`caliper_width`). ``order``
    applies without replacement: ``largest`` takes first the focal units with the largest distance
    (for the ATT, the treated units with the highest scores, the hardest to match), ``smallest``
    the reverse, ``random`` a random order from ``random_state``, ``data`` the row order. Pass the
    distance oriented so that larger means "more like the focal group" (the caller negates it when
    the focal group is the control group).
    """
    distance = np.asarray(distance, dtype=np.float64)
    focal = np.asarray(focal, dtype=bool)
    if strata is None:
        strata = np.zeros(distance.size, dtype=np.int64)
    rng = np.random.default_rng(random_state)
    global_rank = np.empty(distance.size, dtype=np.int64)
    focal_idx = np.flatnonzero(focal)
    global_rank[focal_idx[_focal_order(distance[focal_idx], order, rng)]] = np.arange(focal_idx.size)
    width = -1.0 if caliper is None else float(caliper)

    rows_f, rows_m = [], []
    codes, stratum = np.unique(strata, return_inverse=True)
    if codes.size == 1:
        groups = [np.arange(distance.size)]
    else:
        sort = np.argsort(stratum, kind="stable")
        groups = np.split(sort, np.flatnonzero(np.diff(stratum[sort])) + 1)
    for members in groups:
        f_idx = members[focal[members]]
        c_idx = members[~focal[members]]
        if f_idx.size == 0 or c_idx.size == 0:
            continue
        c_sort = np.argsort(distance[c_idx], kind="stable")
        c_idx = c_idx[c_sort]
        cvals = distance[c_idx]
        f_idx = f_idx[np.argsort(global_rank[f_idx], kind="stable")]
        fvals = distance[f_idx]
        start = np.searchsorted(cvals, fvals, side="left").astype(np.int64)
        if replace:
            self_pos = np.full(f_idx.size, _NONE, dtype=np.int64)
            picks = _knn_kernel(cvals, fvals, start, ratio, width, self_pos)
            if ties == "all":
                window = _tie_window(cvals, fvals, picks)
                q = np.flatnonzero(window[:, 0] >= 0)
                sizes = window[q, 1] - window[q, 0] + 1
                offsets = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
                rows_f.append(f_idx[np.repeat(q, sizes)])
                rows_m.append(c_idx[np.repeat(window[q, 0], sizes) + offsets])
                continue
        else:
            picks = _greedy_kernel(cvals, fvals, start, ratio, width)
        q, r = np.nonzero(picks >= 0)
        rows_f.append(f_idx[q])
        rows_m.append(c_idx[picks[q, r]])
    focal_rows = np.concatenate(rows_f) if rows_f else np.empty(0, dtype=np.int64)
    match_rows = np.concatenate(rows_m) if rows_m else np.empty(0, dtype=np.int64)
    order_rows = np.lexsort((match_rows, focal_rows))
    focal_rows, match_rows = focal_rows[order_rows], match_rows[order_rows]
    k = np.bincount(focal_rows, minlength=distance.size)
    weight = 1.0 / k[focal_rows] if focal_rows.size else np.empty(0)
    matched_focal = np.flatnonzero(k)
    return MatchResult(
        focal=focal_rows,
        matched=match_rows,
        weight=weight,
        matched_focal=matched_focal,
        n_focal=int(focal_idx.size),
        dropped_by_caliper=int(focal_idx.size - matched_focal.size),
        caliper_width=None if caliper is None else float(caliper),
        replace=replace,
        ratio=ratio,
    )


def same_group_neighbours(distance: np.ndarray, group: np.ndarray, k: int) -> np.ndarray:
    """For every unit, its ``k`` nearest other units of its own group on the distance (n x k
    indices, -1 where the group is too small). Used for the Abadie-Imbens conditional variance."""
    out = np.empty((distance.size, k), dtype=np.int64)
    for value in (0, 1):
        rows = group == value
        out[rows] = nearest_in_group(distance, group, value, k)[rows]
    return out


class PropensityMatcher:
    """Propensity-score matching estimates of the ATT, ATC or ATE, with valid standard errors.

    The ATT matches treated units to controls, the ATC the reverse; the ATE matches in both
    directions and needs ``replace=True``. What is estimated after matching (``adjust``):

    * without replacement, ``adjust=True`` (default): g-computation in the matched sample, a WLS
      regression of the outcome on (1, covariates) in each arm with the matching weights, averaged
      over the matched focal units (:func:`~reimpact.inference.matched_regression`; Ho, Imai, King &
      Stuart 2007). It removes the imbalance greedy matching leaves when many units are treated;
    * with replacement, ``adjust=True``: the Abadie & Imbens (2011) bias correction, each match's
      outcome shifted by mu(X_f) - mu(X_j), mu an OLS fit in the matched-from group;
    * ``adjust=False``: the plain difference in matched means.

    Standard errors (``se``):

    * ``matched-sets`` (``auto`` without replacement): cluster-robust by matched set from the
      influence terms of the estimate, weights held fixed (Abadie & Spiess 2022); the score is
      treated as known. The Abadie-Imbens (2016) estimated-score term is derived for matching with
      replacement and is not added here;
    * ``abadie-imbens`` (``auto`` with replacement): :func:`~reimpact.inference.abadie_imbens_se`
      plus the Abadie-Imbens (2016) term when the score is the package's logistic fit;
    * ``bootstrap`` (without replacement): resampling units and refitting the score when its design
      is given, else resampling matched sets (Austin & Small 2014);
    * with ``clusters`` given to :meth:`estimate`: without replacement, two-way cluster-robust by
      cluster and matched set (Cameron, Gelbach & Miller 2011), so that neither source of
      dependence is ignored; with replacement, cluster-robust by cluster with the matches and the
      bias-correction regression held fixed.
    """

    def __init__(
        self,
        estimand: str = "ATT",
        ratio: int = 1,
        replace: bool = True,
        caliper: float | None = None,
        caliper_scale: CaliperScale = "pooled",
        order: Order = "largest",
        distance: Literal["logit", "propensity"] = "logit",
        ties: Ties = "all",
        se: str = "auto",
        adjust: bool = True,
        n_bootstrap: int = 499,
        n_neighbours: int = 2,
        random_state: int = 0,
        verbose: bool = False,
    ) -> None:
        self.estimand = estimand
        self.ratio = ratio
        self.replace = replace
        self.caliper = caliper
        self.caliper_scale = caliper_scale
        self.order = order
        self.distance = distance
        self.ties = ties
        self.se = se
        self.adjust = adjust
        self.n_bootstrap = n_bootstrap
        self.n_neighbours = n_neighbours
        self.random_state = random_state
        self.verbose = verbose

    def _validate(self) -> None:
        if self.estimand not in ("ATT", "ATC", "ATE"):
            raise DesignError("estimand", f"must be ATT, ATC or ATE, got '{self.estimand}'")
        problem = matching_option_problem(self.estimand, self.replace, self.se)
        if problem is not None:
            raise DesignError(f"methods.psm.{problem[0]}", problem[1])

    def fit(
        self,
        propensity: np.ndarray,
        treated: np.ndarray,
        strata: np.ndarray | None = None,
        covariates: np.ndarray | None = None,
        score_design: np.ndarray | None = None,
        feature_names: Sequence[str] | None = None,
    ) -> PropensityMatcher:
        """Match on the propensity score (logit by default). ``covariates`` (a design matrix,
        ``feature_names`` its column names) are what ``adjust`` adjusts for; without them the
        estimate is the plain matched difference. ``score_design`` is the design matrix (with
        intercept) of a logistic score estimated by maximum likelihood: given, matching with
        replacement adds the Abadie-Imbens (2016) term and the bootstrap refits the score."""
        self._validate()
        e = np.asarray(propensity, dtype=float)
        t = np.asarray(treated).astype(np.int8)
        with np.errstate(divide="ignore"):
            dist = np.log(e / (1.0 - e)) if self.distance == "logit" else e
        if not np.all(np.isfinite(dist)):
            raise DesignError(
                "propensity",
                "scores of exactly 0 or 1 cannot be matched on the logit; use "
                "'distance: propensity' or revise the propensity model",
            )
        width = caliper_width(dist, t, self.caliper, self.caliper_scale)
        directions = {"ATT": (1,), "ATC": (0,), "ATE": (1, 0)}[self.estimand]
        results = []
        for group in directions:
            oriented = dist if group == 1 else -dist
            results.append(
                match(
                    oriented,
                    t == group,
                    self.ratio,
                    self.replace,
                    width,
                    self.order,
                    strata,
                    self.random_state,
                    self.ties,
                )
            )
        if all(r.n_focal_matched == 0 for r in results):
            raise DesignError(
                "methods.psm.caliper",
                f"every {'treated' if directions[0] == 1 else 'control'} unit was dropped by the "
                f"caliper ({self.caliper} SD); widen it or set 'caliper: null'",
            )
        self.results_ = results
        self.treated_ = t
        self.score_ = e
        self.score_design_ = score_design
        self.distance_ = dist
        self.caliper_width_ = width
        self.covariates_ = None if covariates is None else np.asarray(covariates, dtype=float)
        self.feature_names_ = (
            list(feature_names)
            if feature_names is not None
            else None
            if covariates is None
            else [f"x{j}" for j in range(self.covariates_.shape[1])]
        )
        self.strata_ = strata
        return self

    @property
    def weights_(self) -> np.ndarray:
        """Matching weights of every unit (summed over directions for the ATE)."""
        n = self.treated_.size
        return sum(r.unit_weights(n) for r in self.results_)

    @property
    def adjusts_(self) -> bool:
        """Whether the estimate is adjusted (``adjust`` and covariates given)."""
        return self.adjust and self.covariates_ is not None and self.covariates_.shape[1] > 0

    def matched_pairs(self, index: Sequence | np.ndarray | None = None) -> pd.DataFrame:
        """Who is matched to whom, as a DataFrame (``focal``, ``matched``, ``weight`` = 1/k_f), with
        the rows labelled by ``index`` (e.g. the data frame's index) when given."""
        import pandas as pd

        focal = np.concatenate([r.focal for r in self.results_])
        matched = np.concatenate([r.matched for r in self.results_])
        labels = np.asarray(index) if index is not None else np.arange(self.treated_.size)
        return pd.DataFrame(
            {
                "focal": labels[focal],
                "matched": labels[matched],
                "weight": np.concatenate([r.weight for r in self.results_]),
            }
        )

    def summary(self) -> dict[str, int | float | None]:
        """Focal units, matched focal units, units dropped by the caliper, the caliper's width and
        the matched units of each group (``results.json``'s ``design.matching``)."""
        t, used = self.treated_, self.weights_ > 0
        return {
            "focal_units": int(sum(r.n_focal for r in self.results_)),
            "matched_focal_units": int(sum(r.n_focal_matched for r in self.results_)),
            "dropped_by_caliper": self.dropped_by_caliper_,
            "caliper_width": self.caliper_width_,
            "matched_treated": int(np.sum(used & (t == 1))),
            "matched_control": int(np.sum(used & (t == 0))),
        }

    @property
    def dropped_by_caliper_(self) -> int:
        return sum(r.dropped_by_caliper for r in self.results_)

    def _corrected(self, y: np.ndarray, result: MatchResult) -> np.ndarray:
        """The outcome net of the Abadie-Imbens (2011) regression fitted in the group that
        ``result`` matches from (the outcome itself when not adjusting): matching on it is the
        bias-corrected matching estimator."""
        if not (self.replace and self.adjusts_) or result.matched.size == 0:
            return y
        return y - _fitted(self.covariates_, y, self.treated_ == self.treated_[result.matched[0]])

    def differences(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """d_f = +/-(Y_f - mean of f's matches' Y) for every matched focal unit (bias-corrected
        with replacement when adjusting; plain pair differences without replacement) and the
        focal unit indices."""
        y = np.asarray(y, dtype=float)
        t = self.treated_
        ds, units = [], []
        for result in self.results_:
            shifted = self._corrected(y, result)
            focal_units = result.matched_focal
            imputed = np.bincount(
                result.focal, weights=result.weight * shifted[result.matched], minlength=t.size
            )[focal_units]
            sign = np.where(t[focal_units] == 1, 1.0, -1.0)
            ds.append(sign * (shifted[focal_units] - imputed))
            units.append(focal_units)
        return np.concatenate(ds), np.concatenate(units)

    def _regression(self, y: np.ndarray, weights: np.ndarray) -> tuple[float, np.ndarray]:
        """The estimate without replacement and its influence terms (see the class docstring)."""
        x = self.covariates_ if self.adjusts_ else None
        return matched_regression(y, self.treated_, weights, self.estimand, x)

    def point_estimate(self, y: np.ndarray) -> float:
        """The effect estimate alone (no standard error)."""
        y = np.asarray(y, dtype=float)
        if self.replace:
            return float(self.differences(y)[0].mean())
        return self._regression(y, self.weights_)[0]

    def estimate(
        self,
        y: np.ndarray,
        outcome: str = "outcome",
        clusters: np.ndarray | None = None,
        cluster_name: str = "cluster",
    ) -> Effect:
        """The matching estimate of the effect on ``y`` with its standard error."""
        y = np.asarray(y, dtype=float)
        notes: list[str] = []
        known = "the propensity score is treated as known"
        if not self.replace:
            tau, psi = self._regression(y, self.weights_)
            subclass = self.results_[0].subclass(y.size)  # ATT or ATC: one direction
            used = subclass >= 0
            if np.unique(subclass[used]).size < 2:
                raise DesignError("methods.psm", "fewer than 2 matched sets; widen the caliper")
            if self.se == "bootstrap":
                if clusters is not None:
                    raise DesignError(
                        "methods.psm.se", "the bootstrap resamples units, not clusters; use 'auto'"
                    )
                se, se_type = self._bootstrap(y, subclass, notes)
            elif clusters is not None:
                se = two_way_se(psi[used], clusters[used], subclass[used])
                se_type = f"two-way cluster-robust by {cluster_name} and matched set"
                notes.append(f"variance: two-way cluster-robust sandwich ({known})")
            else:
                se = sandwich_se(psi[used], subclass[used])
                se_type = "cluster-robust by matched set"
                notes.append(
                    f"variance: matched-set cluster-robust sandwich, weights held fixed ({known})"
                )
        else:
            d, focal_units = self.differences(y)
            tau = float(d.mean())
            if clusters is not None:
                se = sandwich_se(self._replacement_psi(y), clusters)
                se_type = f"cluster-robust by {cluster_name}"
                notes.append(f"variance: cluster-robust, matches held fixed ({known})")
            else:
                neighbours = same_group_neighbours(self.distance_, self.treated_, self.n_neighbours)
                sigma2 = matching_conditional_variance(self._variance_outcome(y), neighbours)
                rows_m = np.concatenate([r.matched for r in self.results_])
                rows_w = np.concatenate([r.weight for r in self.results_])
                se = abadie_imbens_se(d, focal_units, rows_m, rows_w, sigma2)
                se, se_type = self._score_term(se, y, tau, notes)
        if self.adjusts_:
            what = (
                "bias-corrected (Abadie-Imbens 2011) by a regression on"
                if self.replace
                else "regression-adjusted in the matched sample (g-computation for the "
                f"{self.estimand}) for"
            )
            notes.append(f"{what} {len(self.feature_names_)} covariate columns")
        elif self.adjust:
            notes.append("no covariates were given: the plain difference in matched means")
        else:
            notes.append("unadjusted difference in matched means (adjust: false)")
        notes += self._caliper_notes()
        used = self.weights_ > 0
        return Effect(
            outcome=outcome,
            method="psm",
            estimand=self.estimand,
            estimate=tau,
            std_error=se,
            n_treated=int(np.sum(used & (self.treated_ == 1))),
            n_control=int(np.sum(used & (self.treated_ == 0))),
            se_type=se_type,
            notes=tuple(notes),
        )

    def _replacement_psi(self, y: np.ndarray) -> np.ndarray:
        """Influence terms of the matching estimate with replacement, the matches and the
        bias-correction regression held fixed: each direction is a weighted difference in the
        (corrected) outcome, its terms weighted by its share of the matched focal units."""
        n_all = sum(r.n_focal_matched for r in self.results_)
        psi = np.zeros(y.size)
        for result in self.results_:
            direction = "ATT" if self.treated_[result.matched_focal[0]] == 1 else "ATC"
            _, part = matched_regression(
                self._corrected(y, result), self.treated_, result.unit_weights(y.size), direction
            )
            psi += part * result.n_focal_matched / n_all
        return psi

    def _variance_outcome(self, y: np.ndarray) -> np.ndarray:
        """The outcome whose conditional variance given the score enters the Abadie-Imbens
        variance: Var(Y | e(X), W) for plain matching on the score (Abadie & Imbens 2016); with the
        bias correction, the corrected outcome Y - mu(X) that the corrected estimator matches on
        (for the ATE, which corrects with two regressions, Y net of its own group's fit)."""
        if not (self.replace and self.adjusts_):
            return y
        if len(self.results_) == 1:
            return self._corrected(y, self.results_[0])
        out = y.copy()
        for group in (0, 1):
            rows = self.treated_ == group
            out[rows] = y[rows] - _fitted(self.covariates_, y, rows)[rows]
        return out

    def _caliper_notes(self) -> list[str]:
        """Units the caliper dropped, what that does to the estimand and how they differ."""
        dropped = self.dropped_by_caliper_
        if not dropped:
            return []
        group = {"ATT": "treated", "ATC": "control", "ATE": "focal"}[self.estimand]
        why = "within the caliper" if self.caliper is not None else "left (matching without replacement)"
        note = (
            f"{dropped} {group} units had no match {why} and were dropped: the "
            f"estimate is the {self.estimand} of the matched {group} units"
        )
        if self.covariates_ is not None and self.feature_names_:
            n = self.treated_.size
            focal = np.zeros(n, bool)
            matched = np.zeros(n, bool)
            for r in self.results_:
                focal[self.treated_ == self.treated_[r.matched_focal[0]]] = True
                matched[r.matched_focal] = True
            lost, kept = self.covariates_[focal & ~matched], self.covariates_[matched]
            sd = self.covariates_[focal].std(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                smd = np.where(sd > 0, (lost.mean(axis=0) - kept.mean(axis=0)) / sd, 0.0)
            top = np.argsort(-np.abs(smd))[:3]
            note += "; they differ most from the matched ones in " + ", ".join(
                f"{self.feature_names_[j]} (SMD {smd[j]:+.2f})" for j in top
            )
        return [note]

    def _score_term(self, se: float, y: np.ndarray, tau: float, notes: list[str]) -> tuple[float, str]:
        """Add the Abadie-Imbens (2016) estimated-score term to the variance of matching with
        replacement when the score came from the logistic model; otherwise say that the score is
        treated as known.

        With the bias correction the term is computed on the outcome net of the regression the
        correction uses (the corrected estimator matches on those residuals); for the
        bias-corrected ATE, which uses two regressions, it is left out (conservative for the ATE).
        """
        t = self.treated_
        known = "variance: Abadie-Imbens (2006); the propensity score is treated as known"
        if self.score_design_ is None or min(t.sum(), (1 - t).sum()) <= _SCORE_NEIGHBOURS:
            notes.append(known)
            return se, "Abadie-Imbens"
        if self.adjusts_:
            if self.estimand == "ATE":
                notes.append(known + " (conservative for the ATE, Abadie-Imbens 2016)")
                return se, "Abadie-Imbens"
            y = self._corrected(y, self.results_[0])
        width = max(_SCORE_NEIGHBOURS, self.ratio)
        order = np.argsort(self.distance_, kind="stable")
        near = tuple(nearest_in_group(self.distance_, t, g, width, order) for g in (0, 1))
        imputed0 = y[near[0][:, : self.ratio]].mean(axis=1)
        imputed1 = y[near[1][:, : self.ratio]].mean(axis=1)
        unit_effects = np.where(t == 1, y - imputed0, imputed1 - y)
        neighbours = (near[0][:, :_SCORE_NEIGHBOURS], near[1][:, :_SCORE_NEIGHBOURS])
        term = estimated_score_adjustment(
            self.estimand, self.score_design_, self.score_, t, y, unit_effects, tau, neighbours
        )
        if se**2 + term <= 0:
            notes.append(known + " (the estimated-score term gave a negative variance)")
            return se, "Abadie-Imbens"
        notes.append("variance: Abadie-Imbens (2006) plus the estimated-score term (Abadie-Imbens 2016)")
        return float(np.sqrt(se**2 + term)), "Abadie-Imbens, estimated score"

    def _bootstrap(self, y: np.ndarray, subclass: np.ndarray, notes: list[str]) -> tuple[float, str]:
        """Bootstrap standard error (without replacement). With the logistic score's design,
        every replicate resamples units, refits the score, matches again and re-estimates, so the
        score's estimation is included; otherwise matched sets are resampled (Austin & Small 2014)
        and the estimate recomputed with the resampled sets' weights (the score taken as known).
        """
        rng = np.random.default_rng(self.random_state)
        if self.score_design_ is None:
            sets, codes = np.unique(subclass[subclass >= 0], return_inverse=True)
            position = np.full(y.size, -1)
            position[subclass >= 0] = codes
            weights = self.weights_
            estimates = []
            for _ in progress(range(self.n_bootstrap), "bootstrap", self.n_bootstrap, self.verbose):
                count = np.bincount(rng.integers(0, sets.size, sets.size), minlength=sets.size)
                w = np.where(position >= 0, weights * count[position], 0.0)
                estimates.append(self._regression(y, w)[0])
            notes.append("the bootstrap keeps the matched sets fixed: the score is treated as known")
            return float(np.std(estimates, ddof=1)), f"bootstrap of matched sets ({self.n_bootstrap})"
        if not hasattr(self, "replicates_"):
            n, p = y.size, 0 if self.covariates_ is None else self.covariates_.shape[1]
            gigabytes = self.n_bootstrap * n * (p + 8) * 8 / 1e9
            if gigabytes > 4:
                raise DesignError(
                    "methods.psm.n_bootstrap",
                    f"{self.n_bootstrap} replicates of {n:,} rows would hold about {gigabytes:.0f} GB; "
                    "lower n_bootstrap or use se: auto",
                )
            self.replicates_ = self._replicates(rng)
        estimates = np.array([fit.point_estimate(y[idx]) for idx, fit in self.replicates_])
        failed = self.n_bootstrap - len(self.replicates_)
        if failed:
            notes.append(f"{failed} bootstrap replicates could not be matched and were left out")
        return float(
            np.std(estimates, ddof=1)
        ), f"bootstrap ({len(estimates)} replicates, score refitted)"

    def _replicates(self, rng: np.random.Generator) -> list[tuple[np.ndarray, PropensityMatcher]]:
        """Resample units, refit the logistic score and match again, ``n_bootstrap`` times."""
        t, x = self.treated_, self.score_design_
        params = {**self.get_params(), "se": "matched-sets", "verbose": False}
        out = []
        for _ in progress(range(self.n_bootstrap), "bootstrap", self.n_bootstrap, self.verbose):
            idx = rng.integers(0, t.size, t.size)
            try:
                score = expit(x[idx] @ fit_logistic(x[idx], t[idx]))
                fit = PropensityMatcher(**params).fit(
                    score,
                    t[idx],
                    _rows(self.strata_, idx),
                    _rows(self.covariates_, idx),
                    feature_names=self.feature_names_,
                )
            except DesignError:
                continue
            out.append((idx, fit))
        return out

    def get_params(self) -> dict:
        """The constructor's settings (scikit-learn convention)."""
        names = inspect.signature(type(self).__init__).parameters
        return {name: getattr(self, name) for name in names if name != "self"}


def _rows(values: np.ndarray | None, idx: np.ndarray) -> np.ndarray | None:
    return None if values is None else values[idx]


def _fitted(x: np.ndarray, y: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Fitted values for every unit of the OLS of y on (1, x) within ``group``."""
    design = np.column_stack([np.ones(x.shape[0]), x])
    return design @ np.linalg.lstsq(design[group], y[group], rcond=None)[0]


def nearest_in_group(
    distance: np.ndarray, group_of: np.ndarray, group: int, k: int, order: np.ndarray | None = None
) -> np.ndarray:
    """For every unit, its ``k`` nearest units of ``group`` on the distance, itself excluded (n x k
    indices, -1 where the group has too few units). ``order`` (a stable argsort of the distance)
    may be passed to share one sort between calls."""
    if order is None:
        order = np.argsort(distance, kind="stable")
    in_group = group_of[order] == group
    members = order[in_group]
    values = distance[members]
    # the insertion point of every unit among the sorted members: members sorted before it
    before = np.cumsum(in_group) - in_group
    start = np.empty(distance.size, dtype=np.int64)
    start[order] = before
    self_pos = np.full(distance.size, _NONE, dtype=np.int64)
    self_pos[members] = np.arange(members.size)
    picks = _knn_kernel(values, distance, start, k, -1.0, self_pos)
    return np.where(picks >= 0, members[np.maximum(picks, 0)], _NONE)


# the old name of the matching design (the contract estimator: reimpact.MatchingEstimator)
__getattr__ = moved("reimpact.matching", {"MatchingEstimator": "reimpact.matching:PropensityMatcher"})
