"""Exact optimal 1:k assignment on a line, solved on a sparse graph and proved optimal over every
pair within the caliper by linear-programming duality.

The problem: rows are copies of the focal units (k per unit), columns the candidates plus one
"no match" column per row at a penalty P larger than any total distance; every row takes exactly
one column, every column at most one row, and the total cost sum |a_q - b_j| (+ P per unmatched
copy) is minimal. :func:`scipy.sparse.csgraph.min_weight_full_bipartite_matching` (LAPJVsp) solves
it on a sparse graph G. Optimality over the complete graph within the caliper is then checked
without building it:

* f(j), the least cost of freeing column j by moving its row to another column along a chain that
  ends at a free column (f = 0 there), solves the Bellman equations
  f(M(r)) = min over the columns j' of r of (c(r, j') + f(j')) - c(r, M(r)) on G, computed by a
  queue-based Bellman-Ford (one extra column taking any row at cost 2P keeps f finite; it is never
  used by an optimum, each row having its own cheaper "no match" column);
* u(r) = c(r, M(r)) + f(M(r)) and v(j) = -f(j) are then feasible duals on G that meet complementary
  slackness (u(r) + v(j) <= c(r, j), equality on the matched pairs, v <= 0 and v = 0 on the free
  columns), so the assignment is optimal over every graph on which they stay feasible;
* for every focal unit, min over the candidates j within the caliper of |a_q - b_j| + f(j) is
  compared with u(r) of its copies (one pass over the sorted candidates in the caliper window).
  For every focal unit with a violated dual constraint, its most violated pair is added to G
  and the problem solved again. When no constraint is violated the assignment is optimal over
  every pair within the caliper (up to a tolerance of 1e-9 of the penalty scale).

G starts with a matching with the most pairs within the caliper (a greedy pass, exact for
intervals of equal width), so the number matched is maximal from the first solve and the rounds
only lower the total distance. The rounds are capped (``max_rounds``): on small and medium samples
the certificate is met in a few rounds; on very large ones with a wide caliper each round is a
full sparse solve, and the result may stop at the optimum over the graph reached, which the caller
reports.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def _freeing_costs(indptr, rows, costs, col_of_row, matched_cost, n_cols, big, tol):
    """f(j) for every column (Bellman-Ford with a queue on the columns; see the module docstring).
    ``indptr``/``rows``/``costs``: the graph by column (CSC)."""
    n_rows = col_of_row.shape[0]
    used = np.zeros(n_cols, dtype=np.bool_)
    f = np.full(n_cols, np.inf)
    for r in range(n_rows):
        used[col_of_row[r]] = True
        f[col_of_row[r]] = big - matched_cost[r]  # moving r to the overflow column
    size = n_cols + 1
    queue = np.empty(size, dtype=np.int64)
    waiting = np.zeros(n_cols, dtype=np.bool_)
    head, tail = 0, 0
    for j in range(n_cols):
        if not used[j]:
            f[j] = 0.0
            queue[tail] = j
            tail = (tail + 1) % size
            waiting[j] = True
    while head != tail:
        jp = queue[head]
        head = (head + 1) % size
        waiting[jp] = False
        for e in range(indptr[jp], indptr[jp + 1]):
            r = rows[e]
            j = col_of_row[r]
            if j == jp:
                continue
            candidate = costs[e] + f[jp] - matched_cost[r]
            if candidate < f[j] - tol:
                f[j] = candidate
                if not waiting[j]:
                    queue[tail] = j
                    tail = (tail + 1) % size
                    waiting[j] = True
    return f


@numba.njit(cache=True, parallel=True)
def _violations(a, bound, b_sorted, f_sorted, lo, hi, tol):
    """For each focal q, the sorted candidate position j in [lo_q, hi_q) minimising
    |a_q - b_j| + f_j when that minimum is below ``bound[q] - tol`` (a violated dual constraint),
    else -1."""
    out = np.full(a.shape[0], -1, dtype=np.int64)
    for q in numba.prange(a.shape[0]):
        best, arg = np.inf, -1
        for j in range(lo[q], hi[q]):
            value = abs(a[q] - b_sorted[j]) + f_sorted[j]
            if value < best:
                best, arg = value, j
        if best < bound[q] - tol:
            out[q] = arg
    return out


@numba.njit(cache=True)
def _most_matches(a_sorted, b_sorted, ratio, caliper):
    """A matching with the most pairs within the caliper: focal units in increasing order each take
    the ``ratio`` leftmost available candidates of their window (intervals of equal width are
    ordered by both ends, so this greedy choice is optimal). Returns (focal, candidate) sorted
    positions."""
    m = b_sorted.shape[0]
    nxt = np.arange(m + 1)  # nxt[i]: i if available, else points rightwards (union-find)
    out_f = np.empty(a_sorted.shape[0] * ratio, dtype=np.int64)
    out_b = np.empty(a_sorted.shape[0] * ratio, dtype=np.int64)
    k = 0
    lo = 0
    for q in range(a_sorted.shape[0]):
        while lo < m and b_sorted[lo] < a_sorted[q] - caliper:
            lo += 1
        for _ in range(ratio):
            root = lo
            while nxt[root] != root:
                root = nxt[root]
            i = lo
            while nxt[i] != root:  # path compression
                step = nxt[i]
                nxt[i] = root
                i = step
            if root >= m or b_sorted[root] > a_sorted[q] + caliper:
                break
            out_f[k] = q
            out_b[k] = root
            k += 1
            nxt[root] = root + 1
    return out_f[:k], out_b[:k]


def assign_on_line(
    a: np.ndarray,
    b: np.ndarray,
    ratio: int,
    caliper: float | None,
    pairs: tuple[np.ndarray, np.ndarray],
    max_rounds: int = 3,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """The optimal assignment of ``ratio`` candidates ``b`` to each focal value ``a`` (most
    matches first, least total distance second), starting from the graph ``pairs`` (focal,
    candidate indices within the caliper) and adding pairs until the dual certificate holds, for
    at most ``max_rounds`` rounds. Returns the matched focal and candidate indices and whether the
    certificate held (True: optimal over every pair within the caliper; False: optimal over the
    graph reached, which holds a matching with the most pairs, so the number matched is maximal).
    """
    import scipy.sparse as sp  # only optimal matching pays for scipy.sparse
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching

    r, c = (np.asarray(p, dtype=np.int64) for p in pairs)
    span = float(max(a.max(), b.max()) - min(a.min(), b.min()))
    scale = max(span if caliper is None else min(caliper, span), 1e-12)
    n_rows, n_b = a.size * ratio, b.size
    penalty = 2.0 * scale * (n_rows + 1)
    tol = 1e-9 * penalty
    order = np.argsort(b, kind="stable")
    b_sorted = b[order]
    if caliper is None:
        lo, hi = np.zeros(a.size, np.int64), np.full(a.size, n_b, np.int64)
    else:
        lo = np.searchsorted(b_sorted, a - caliper, "left").astype(np.int64)
        hi = np.searchsorted(b_sorted, a + caliper, "right").astype(np.int64)
    dummy_rows = np.arange(n_rows)
    # a matching with the most pairs is in the graph from the start: the certificate then only
    # has to improve distances, not the number matched
    a_order = np.argsort(a, kind="stable")
    width = np.inf if caliper is None else caliper
    q, j = _most_matches(a[a_order], b_sorted, ratio, width)
    r = np.concatenate([r, a_order[q]])
    c = np.concatenate([c, order[j]])
    code = np.unique(r * n_b + c)
    r, c = code // n_b, code % n_b
    certified = False
    for _ in range(max_rounds + 1):
        d = np.abs(a[r] - b[c])
        # costs must be > 0 (a stored zero is no edge): every edge is shifted by one scale; each
        # row takes exactly one column, so a common shift leaves the optimum unchanged
        rows = np.concatenate([(r[:, None] * ratio + np.arange(ratio)).ravel(), dummy_rows])
        cols = np.concatenate([np.repeat(c, ratio), n_b + dummy_rows])
        cost = np.concatenate([np.repeat(d, ratio) + scale, np.full(n_rows, penalty + scale)])
        graph = sp.csr_matrix((cost, (rows, cols)), shape=(n_rows, n_b + n_rows))
        col_of_row = min_weight_full_bipartite_matching(graph)[1].astype(np.int64)
        by_col = graph.tocsc()
        matched_cost = np.asarray(graph[np.arange(n_rows), col_of_row]).ravel()
        f = _freeing_costs(
            by_col.indptr.astype(np.int64), by_col.indices.astype(np.int64), by_col.data,
            col_of_row, matched_cost, n_b + n_rows, 2.0 * penalty + scale, tol,
        )  # fmt: skip
        u = (matched_cost + f[col_of_row]).reshape(a.size, ratio).max(axis=1)
        found = _violations(a, u - scale, b_sorted, f[:n_b][order], lo, hi, tol)
        new = np.flatnonzero(found >= 0)
        if new.size == 0:
            certified = True
            break
        code = np.unique(np.concatenate([r * n_b + c, new * n_b + order[found[new]]]))
        r, c = code // n_b, code % n_b
    real = np.flatnonzero(col_of_row < n_b)
    return real // ratio, col_of_row[real], certified
