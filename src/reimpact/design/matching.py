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

from dataclasses import dataclass
from typing import Literal

import numba
import numpy as np

Order = Literal["largest", "smallest", "random", "data"]
Ties = Literal["all", "first"]
CaliperScale = Literal["pooled", "all"]
NONE = -1


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
        out = np.full(n, NONE, dtype=np.int64)
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
            self_pos = np.full(f_idx.size, NONE, dtype=np.int64)
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
    self_pos = np.full(distance.size, NONE, dtype=np.int64)
    self_pos[members] = np.arange(members.size)
    picks = _knn_kernel(values, distance, start, k, -1.0, self_pos)
    return np.where(picks >= 0, members[np.maximum(picks, 0)], NONE)
