"""Optimal pair matching and optimal full matching on a one-dimensional distance (the logit of the
propensity score by default), both solved exactly as sparse assignment problems.

* **Optimal 1:k matching without replacement** (Rosenbaum 1989; MatchIt's ``method = "optimal"``):
  among the matchings that give the most focal units a match within the caliper, the one with the
  smallest total |distance|. Each focal unit is copied k times; every copy may take any candidate
  within the caliper or its own "no match" column at a penalty larger than any total distance, so
  the number of matched copies is maximal first and the total distance minimal second. The
  assignment is solved on a sparse graph and proved optimal over every pair within the caliper by
  a dual certificate (:mod:`reimpact.design.assignment`), pairs being added until it holds (within
  a cap on the rounds, reported when reached).
* **Optimal full matching** (Rosenbaum 1991; Hansen 2004; MatchIt's ``method = "full"``): every
  unit with a partner within the caliper is put in a subclass with one treated unit and >= 1
  controls or one control and >= 1 treated units, minimising the sum over subclasses of the
  distances between the subclass's single unit and the others. Such a partition is a minimum-weight
  edge cover of the bipartite caliper graph (a minimal edge cover is a forest of stars; Rosenbaum
  1991 solves it as a minimum-cost flow). An edge cover of minimum weight is found exactly through
  its classical reduction to a matching: with m(v) the distance from v to its nearest partner,
  cover cost = sum_v m(v) - max over matchings M of sum_{(u, v) in M} (m(u) + m(v) - d(u, v)); the
  cover is M plus, for every unit M leaves out, the edge to its nearest partner (Schrijver 2003,
  ch. 19). The matching is again a sparse assignment (profitable edges only: d < m(u) + m(v)).

With ``strata``, units are matched only within a stratum (exact matching on it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .assignment import assign_on_line
from .matching import NONE, MatchResult


@dataclass(frozen=True)
class SubclassResult(MatchResult):
    """A full matching: :class:`MatchResult` rows (each focal unit to the units of its subclass of
    the other group) plus the subclass of every unit (-1: none) and the weights of the estimand."""

    subclass_of: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    weights: np.ndarray = field(default_factory=lambda: np.empty(0))

    def unit_weights(self, n: int) -> np.ndarray:
        """The full-matching weights of the estimand (see :func:`full_match`)."""
        return self.weights.copy()

    def subclass(self, n: int) -> np.ndarray:
        """The subclass of every unit, -1 for units no subclass holds."""
        return self.subclass_of.copy()


def _groups(strata: np.ndarray | None, n: int) -> list[np.ndarray]:
    if strata is None:
        return [np.arange(n)]
    _, code = np.unique(strata, return_inverse=True)
    sort = np.argsort(code, kind="stable")
    return np.split(sort, np.flatnonzero(np.diff(code[sort])) + 1)


def nearest_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """min_j |a_i - b_j| for every i."""
    sb = np.sort(b)
    pos = np.searchsorted(sb, a)
    left = np.where(pos > 0, a - sb[np.maximum(pos - 1, 0)], np.inf)
    right = np.where(pos < sb.size, sb[np.minimum(pos, sb.size - 1)] - a, np.inf)
    return np.minimum(left, right)


def caliper_pairs(
    a: np.ndarray, b: np.ndarray, caliper: float | np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair (i, j) with |a_i - b_j| <= caliper (all pairs without a caliper; ``caliper`` may
    be one width per row): row, column and distance, found on ``b`` sorted once."""
    order = np.argsort(b, kind="stable")
    sb = b[order]
    if caliper is None:
        lo, hi = np.zeros(a.size, np.int64), np.full(a.size, b.size, np.int64)
    else:
        lo = np.searchsorted(sb, a - caliper, side="left")
        hi = np.searchsorted(sb, a + caliper, side="right")
    sizes = hi - lo
    rows = np.repeat(np.arange(a.size), sizes)
    offsets = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    cols = order[np.repeat(lo, sizes) + offsets]
    return rows, cols, np.abs(a[rows] - b[cols])


def _window_pairs(a: np.ndarray, b: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j) with b_j among the k sorted neighbours of a_i on each side (a superset of
    a_i's k nearest in b)."""
    order = np.argsort(b, kind="stable")
    start = np.searchsorted(b[order], a, side="left")
    pos = start[:, None] + np.arange(-k, k)[None, :]
    ok = (pos >= 0) & (pos < b.size)
    rows = np.broadcast_to(np.arange(a.size)[:, None], pos.shape)[ok]
    return rows, order[pos[ok]]


def candidate_pairs(
    a: np.ndarray, b: np.ndarray, caliper: float | None, k: int, max_edges: int
) -> tuple[np.ndarray, np.ndarray]:
    """The graph to start from: every pair within the caliper when there are at most
    ``max_edges`` of them, else the pairs within the caliper in which either unit is among the
    other's ``k`` nearest on each side (the solver adds what the optimum needs)."""
    if caliper is None:
        total = a.size * b.size
    else:
        sb = np.sort(b)
        total = int(np.sum(np.searchsorted(sb, a + caliper, "right") - np.searchsorted(sb, a - caliper)))
    if total <= max_edges:
        return caliper_pairs(a, b, caliper)[:2]
    r1, c1 = _window_pairs(a, b, k)
    c2, r2 = _window_pairs(b, a, k)
    code = np.unique(np.concatenate([r1, r2]).astype(np.int64) * b.size + np.concatenate([c1, c2]))
    rows, cols = code // b.size, code % b.size
    if caliper is not None:
        keep = np.abs(a[rows] - b[cols]) <= caliper
        rows, cols = rows[keep], cols[keep]
    return rows, cols


def _assign(rows: np.ndarray, cols: np.ndarray, cost: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Minimum-cost assignment of every row (costs > 0) on a sparse graph: the column of each row."""
    import scipy.sparse as sp  # only optimal and full matching pay for scipy.sparse
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching

    graph = sp.csr_matrix((cost, (rows, cols)), shape=shape)
    return min_weight_full_bipartite_matching(graph)[1]


def optimal_match(
    distance: np.ndarray,
    focal: np.ndarray,
    ratio: int = 1,
    caliper: float | None = None,
    strata: np.ndarray | None = None,
    n_candidates: int = 5,
    max_edges: int = 2_000_000,
    max_rounds: int = 3,
) -> tuple[MatchResult, bool]:
    """Optimal 1:``ratio`` matching without replacement of the ``focal`` units to the others
    (see the module docstring); ``caliper`` is an absolute width on the distance scale. Focal units
    left without a match are dropped and counted (``dropped_by_caliper``).

    The assignment starts from every pair within the caliper when a stratum has at most
    ``max_edges`` of them, else from the pairs in which either unit is among the other's
    ``n_candidates`` * ``ratio`` nearest on each side, plus a matching with the most pairs;
    :func:`~reimpact.design.assignment.assign_on_line` then adds the pairs its dual certificate
    asks for, for at most ``max_rounds`` rounds. The second value returned is True when the
    certificate held in every stratum: the result is then optimal over every pair within the
    caliper (else over the graph reached, with the most focal units matched either way)."""
    distance = np.asarray(distance, dtype=np.float64)
    focal = np.asarray(focal, dtype=bool)
    rows_f, rows_m = [], []
    exact = True
    for members in _groups(strata, distance.size):
        f_idx, c_idx = members[focal[members]], members[~focal[members]]
        if f_idx.size == 0 or c_idx.size == 0:
            continue
        a, b = distance[f_idx], distance[c_idx]
        pairs = candidate_pairs(a, b, caliper, n_candidates * ratio, max_edges)
        q, j, certified = assign_on_line(a, b, ratio, caliper, pairs, max_rounds)
        exact = exact and certified
        rows_f.append(f_idx[q])
        rows_m.append(c_idx[j])
    return _result(distance.size, focal, rows_f, rows_m, caliper, ratio), exact


def _result(
    n: int, focal: np.ndarray, rows_f: list, rows_m: list, caliper: float | None, ratio: int
) -> MatchResult:
    focal_rows = np.concatenate(rows_f) if rows_f else np.empty(0, dtype=np.int64)
    match_rows = np.concatenate(rows_m) if rows_m else np.empty(0, dtype=np.int64)
    keep = np.lexsort((match_rows, focal_rows))
    focal_rows, match_rows = focal_rows[keep], match_rows[keep]
    k = np.bincount(focal_rows, minlength=n)
    matched_focal = np.flatnonzero(k)
    n_focal = int(focal.sum())
    return MatchResult(
        focal=focal_rows,
        matched=match_rows,
        weight=1.0 / k[focal_rows] if focal_rows.size else np.empty(0),
        matched_focal=matched_focal,
        n_focal=n_focal,
        dropped_by_caliper=n_focal - int(matched_focal.size),
        caliper_width=caliper,
        replace=False,
        ratio=ratio,
    )


def _edge_cover(r: np.ndarray, c: np.ndarray, d: np.ndarray, n_r: int, n_c: int) -> np.ndarray:
    """The edges (indices into r, c, d) of a minimum-weight edge cover of the bipartite graph,
    every vertex having an edge; a minimal one, so a forest of stars."""
    m_r = np.full(n_r, np.inf)
    np.minimum.at(m_r, r, d)
    m_c = np.full(n_c, np.inf)
    np.minimum.at(m_c, c, d)
    profit = m_r[r] + m_c[c] - d
    good = np.flatnonzero(profit > 0)
    chosen = np.zeros(d.size, bool)
    if good.size:
        # maximum-profit matching = assignment of every row to an edge or its own zero-profit column
        top = float(profit[good].max()) + 1.0
        cost = np.concatenate([top - profit[good], np.full(n_r, top)])
        rows = np.concatenate([r[good], np.arange(n_r)])
        cols = np.concatenate([c[good], n_c + np.arange(n_r)])
        col = _assign(rows, cols, cost, (n_r, n_c + n_r))
        lookup = {(int(a), int(b)): int(e) for a, b, e in zip(r[good], c[good], good, strict=True)}
        for a in np.flatnonzero(col < n_c):
            chosen[lookup[(int(a), int(col[a]))]] = True
    for side, m, other_side in ((r, m_r, n_r), (c, m_c, n_c)):
        covered = np.zeros(other_side, bool)
        covered[side[chosen]] = True
        # nearest partner of every uncovered vertex (the first edge at its minimum distance)
        nearest = np.flatnonzero(d == m[side])
        first = np.full(other_side, -1)
        first[side[nearest[::-1]]] = nearest[::-1]
        chosen[first[~covered]] = True
    # drop edges whose two ends are both covered twice (zero-distance ties): minimal, stars only
    deg_r = np.bincount(r[chosen], minlength=n_r)
    deg_c = np.bincount(c[chosen], minlength=n_c)
    for e in np.flatnonzero(chosen):
        if deg_r[r[e]] > 1 and deg_c[c[e]] > 1:
            chosen[e] = False
            deg_r[r[e]] -= 1
            deg_c[c[e]] -= 1
    return np.flatnonzero(chosen)


def _cover_pairs(
    a: np.ndarray, b: np.ndarray, caliper: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs a minimum edge cover can use: each unit's nearest partners and every profitable
    pair, d(u, v) < m(u) + m(v) <= 2 max(m(u), m(v)), so within 2 m of one of its ends (exact, and
    few pairs on one dimension). Pairs beyond the caliper are not edges."""
    cal = np.inf if caliper is None else caliper
    m_a, m_b = nearest_distance(a, b), nearest_distance(b, a)
    r1, c1, _ = caliper_pairs(a, b, np.minimum(2.0 * m_a, cal))
    c2, r2, _ = caliper_pairs(b, a, np.minimum(2.0 * m_b, cal))
    code = np.unique(np.concatenate([r1, r2]).astype(np.int64) * b.size + np.concatenate([c1, c2]))
    rows, cols = code // b.size, code % b.size
    d = np.abs(a[rows] - b[cols])
    return rows, cols, d


def full_match(
    distance: np.ndarray,
    treated: np.ndarray,
    estimand: str = "ATT",
    caliper: float | None = None,
    strata: np.ndarray | None = None,
) -> SubclassResult:
    """Optimal full matching (see the module docstring) and MatchIt's full-matching weights: in a
    subclass s with n_ts treated and n_cs controls, for the ATT treated 1 and controls
    n_ts / n_cs; for the ATC controls 1 and treated n_cs / n_ts; for the ATE treated
    (n_ts + n_cs) / n_ts and controls (n_ts + n_cs) / n_cs (weights of the other group are left
    unscaled: the g-computation estimate does not depend on their scale). Units with no partner
    within ``caliper`` are in no subclass; for the ATT (ATC) dropped treated (control) units are
    counted as ``dropped_by_caliper``, for the ATE dropped units of either group."""
    distance = np.asarray(distance, dtype=np.float64)
    t = np.asarray(treated).astype(bool)
    n = distance.size
    subclass = np.full(n, NONE, dtype=np.int64)
    for members in _groups(strata, n):
        t_idx, c_idx = members[t[members]], members[~t[members]]
        if t_idx.size == 0 or c_idx.size == 0:
            continue
        r, c, d = _cover_pairs(distance[t_idx], distance[c_idx], caliper)
        has_r, has_c = np.unique(r), np.unique(c)  # units with a partner within the caliper
        if r.size == 0:
            continue
        keep_r = np.full(t_idx.size, -1)
        keep_r[has_r] = np.arange(has_r.size)
        keep_c = np.full(c_idx.size, -1)
        keep_c[has_c] = np.arange(has_c.size)
        r2, c2 = keep_r[r], keep_c[c]
        edges = _edge_cover(r2, c2, d, has_r.size, has_c.size)
        deg_r = np.bincount(r2[edges], minlength=has_r.size)
        # a star's centre: the treated end when it has several edges, else the control end
        centre_is_t = deg_r[r2[edges]] > 1
        label = np.where(centre_is_t, t_idx[has_r[r2[edges]]], c_idx[has_c[c2[edges]]])
        subclass[t_idx[has_r[r2[edges]]]] = label
        subclass[c_idx[has_c[c2[edges]]]] = label
    return _subclass_result(subclass, t, estimand, caliper)


def _subclass_result(
    subclass: np.ndarray, t: np.ndarray, estimand: str, caliper: float | None
) -> SubclassResult:
    n = subclass.size
    used = subclass >= 0
    ids, code = np.unique(subclass[used], return_inverse=True)
    n_t = np.bincount(code, weights=t[used], minlength=ids.size)
    n_c = np.bincount(code, weights=~t[used], minlength=ids.size)
    w_t = {"ATT": np.ones_like(n_t), "ATC": n_c / n_t, "ATE": (n_t + n_c) / n_t}[estimand]
    w_c = {"ATT": n_t / n_c, "ATC": np.ones_like(n_c), "ATE": (n_t + n_c) / n_c}[estimand]
    weights = np.zeros(n)
    weights[used] = np.where(t[used], w_t[code], w_c[code])
    focal = ~t if estimand == "ATC" else (t if estimand == "ATT" else np.ones(n, bool))
    # rows: each focal unit (treated for the ATT/ATE, control for the ATC) to its subclass's others
    fgroup = estimand == "ATC"
    f_units = np.flatnonzero(used & (t != fgroup))
    o_units = np.flatnonzero(used & (t == fgroup))
    o_sorted = o_units[np.argsort(subclass[o_units], kind="stable")]
    starts = np.searchsorted(subclass[o_sorted], subclass[f_units], side="left")
    ends = np.searchsorted(subclass[o_sorted], subclass[f_units], side="right")
    sizes = ends - starts
    offsets = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    rows_f = np.repeat(f_units, sizes)
    rows_m = o_sorted[np.repeat(starts, sizes) + offsets]
    matched_focal = np.flatnonzero(used & focal)
    return SubclassResult(
        focal=rows_f,
        matched=rows_m,
        weight=1.0 / np.repeat(sizes, sizes) if sizes.size else np.empty(0),
        matched_focal=matched_focal,
        n_focal=int(focal.sum()),
        dropped_by_caliper=int(focal.sum()) - int(matched_focal.size),
        caliper_width=caliper,
        replace=False,
        ratio=1,
        subclass_of=subclass,
        weights=weights,
    )
