"""Covariate balance before and after adjustment: a table first, plots second (as cobalt does).

For every covariate (every level of a categorical one, as a 0/1 indicator) and every sample
(``unadjusted``, ``matched``, ``weighted``) the table holds the weighted group means and:

* the standardised mean difference, SMD = (m_1 - m_0) / s, where s is computed once on the
  unadjusted sample by the estimand's rule (cobalt's default): the treated SD for the ATT, the
  control SD for the ATC, the pooled SD sqrt((s_1^2 + s_0^2) / 2) for the ATE (and the ATO);
  for a 0/1 covariate the SD is sqrt(p(1 - p));
* the variance ratio v_1 / v_0 of weighted variances (continuous covariates only);
* the mean and the maximum (Kolmogorov-Smirnov) absolute difference of the weighted empirical
  distribution functions (:mod:`.ecdf`: each covariate sorted once for every sample).

Flags: |SMD| >= 0.1 and a variance ratio outside [0.5, 2]. A categorical level held by fewer than
``min_cell_size`` returnees in either group is suppressed: its numbers are never shown. The rule
applies to every 0/1 covariate (numeric flags too) and to the complement (units without the
category), in every sample.

The covariates are the data columns the study's covariate entries use, each once (``age`` for
``I(age**2)``). With ``balance: {terms: true}`` the design columns of the covariate terms
(``I(age ** 2)``, ``age:sex=M``, unstandardised) follow as extra rows with ``term`` true.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..design.weights import effective_sample_size
from ..io.latex import latex_table
from .ecdf import SortedCovariate, ecdf_differences  # noqa: F401 - still importable from here

SMD_THRESHOLD = 0.1
VARIANCE_RATIO_BOUNDS = (0.5, 2.0)
SAMPLES = ("unadjusted", "matched", "weighted")
STATISTICS = ("mean_treated", "mean_control", "smd", "variance_ratio", "ecdf_mean", "ecdf_max")
# the columns of BalanceTable.to_latex
LATEX_COLUMNS = [
    "covariate",
    "sample",
    "mean_treated",
    "mean_control",
    "smd",
    "variance_ratio",
    "ecdf_max",
]


def sample_order(samples) -> list[str]:
    """The samples present, the built-in ones first (unadjusted, matched, weighted), then those of
    added methods in the order they appear."""
    present = list(dict.fromkeys(samples))
    return [s for s in SAMPLES if s in present] + [s for s in present if s not in SAMPLES]


def smd_scale(
    x: np.ndarray, t: np.ndarray, estimand: str, sample_weight: np.ndarray | None = None
) -> float:
    """The SMD denominator for the estimand, from the unadjusted sample (see the module docstring),
    with the sampling weights when given (as cobalt's ``s.weights``)."""
    if sample_weight is None:
        v1, v0 = np.var(x[t == 1], ddof=1), np.var(x[t == 0], ddof=1)
    else:
        v1, v0 = (weighted_variance(x[t == g], sample_weight[t == g]) for g in (1, 0))
    if estimand == "ATT":
        variance = v1
    elif estimand == "ATC":
        variance = v0
    else:
        variance = (v1 + v0) / 2.0
    return float(np.sqrt(variance))


def weighted_mean(x: np.ndarray, w: np.ndarray) -> float:
    return float(np.sum(w * x) / np.sum(w))


def weighted_variance(x: np.ndarray, w: np.ndarray) -> float:
    """Weighted variance with the reliability-weights correction sum w / (sum w - sum w^2 / sum w),
    which reduces to the usual n - 1 denominator for equal weights."""
    total = w.sum()
    mean = np.sum(w * x) / total
    denominator = total - np.sum(w**2) / total
    return float(np.sum(w * (x - mean) ** 2) / denominator) if denominator > 0 else float("nan")


def balance_statistics(
    x: np.ndarray,
    t: np.ndarray,
    w: np.ndarray,
    scale: float,
    binary: bool,
    sorted_x: SortedCovariate | None = None,
) -> dict[str, float]:
    """One covariate's balance statistics under weights ``w`` (zero weight = not in the sample);
    ``sorted_x`` when the caller has sorted the covariate (:class:`SortedCovariate`)."""
    groups = ((w > 0) & (t == 1), (w > 0) & (t == 0))
    ecdf = (sorted_x or SortedCovariate.of(x, t)).ecdf_differences(w)
    return _statistics(x, w, groups, scale, binary, ecdf)


def _statistics(
    x: np.ndarray,
    w: np.ndarray,
    groups: tuple[np.ndarray, np.ndarray],
    scale: float,
    binary: bool,
    ecdf: tuple[float, float],
) -> dict[str, float]:
    """:func:`balance_statistics` with the rows of each group in the sample (treated, control)
    and the eCDF statistics (mean, maximum)."""
    (x1, w1), (x0, w0) = ((x[rows], w[rows]) for rows in groups)
    m1, m0 = weighted_mean(x1, w1), weighted_mean(x0, w0)
    ratio = float("nan")
    if not binary:
        ratio = weighted_variance(x1, w1) / weighted_variance(x0, w0)
    ecdf_mean, ecdf_max = ecdf
    return {
        "mean_treated": m1,
        "mean_control": m0,
        "smd": (m1 - m0) / scale if scale > 0 else float("nan"),
        "variance_ratio": ratio,
        "ecdf_mean": ecdf_mean,
        "ecdf_max": ecdf_max,
    }


def covariate_columns(
    frame: pd.DataFrame, covariates: list[str], categorical: list[str]
) -> dict[str, tuple[str, np.ndarray]]:
    """Balance variables: numeric covariates as they are, categorical ones as one 0/1 indicator
    per level (labelled ``covariate=level``); with the covariate each comes from."""
    out: dict[str, tuple[str, np.ndarray]] = {}
    for column in covariates:
        if column in categorical:
            text = frame[column].astype(str)
            for level in sorted(text.unique()):
                out[f"{column}={level}"] = (column, (text == level).to_numpy(dtype=float))
        else:
            out[column] = (column, pd.to_numeric(frame[column]).to_numpy(dtype=float))
    return out


@dataclass(frozen=True)
class BalanceTable:
    """Balance of every covariate in every sample: a tidy frame with one row per covariate x sample.

    Columns: ``covariate``, ``source`` (the study covariate, or the term), ``type``
    (binary/continuous), ``term`` (a design column of a covariate term rather than a covariate),
    ``sample``, the statistics, the flags ``smd_flag`` and ``variance_flag``, and ``suppressed``.
    ``effective_n`` holds Kish's effective sample size of each group in each sample.
    """

    frame: pd.DataFrame
    estimand: str
    effective_n: dict[str, dict[str, float]]
    min_cell_size: int

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()

    def _shown_frame(self) -> pd.DataFrame:
        """The rows as ``results.json`` holds them (:meth:`to_records`), with the statistics of a
        suppressed covariate reading "suppressed" rather than missing."""
        frame = pd.DataFrame(self.to_records(), columns=self.frame.columns).astype(object)
        frame.loc[frame["suppressed"].astype(bool), list(STATISTICS)] = "suppressed"
        return frame

    def to_latex(self, digits: int = 3) -> str:
        """The balance table as LaTeX (booktabs ``tabular``): one row per covariate x sample with
        the group means, the SMD, the variance ratio and the KS distance.

        Covariates suppressed for a small count read "suppressed", as in ``results.json``. These
        are the in-memory results; a run's published tables (through the disclosure gate) are
        under ``tables/`` in its output folder.

        Parameters
        ----------
        digits : int
            Decimals of the statistics.

        Returns
        -------
        str
            The ``tabular`` (cells escaped).
        """
        return latex_table(self._shown_frame()[LATEX_COLUMNS], digits=digits)

    def to_excel(self, path: str | Path) -> Path:
        """Write the balance table to an Excel workbook, one row per covariate x sample, every
        column of :meth:`to_frame`; suppressed covariates' statistics read "suppressed".

        These are the in-memory results; a run's published tables (through the disclosure gate)
        are under ``tables/`` in its output folder.

        Parameters
        ----------
        path : str or Path
            The ``.xlsx`` file to write (replaced if it exists).

        Returns
        -------
        Path
            The file written.
        """
        out = Path(path)
        self._shown_frame().to_excel(out, sheet_name="balance", index=False, engine="openpyxl")
        return out

    def wide(self, statistic: str = "smd") -> pd.DataFrame:
        """One row per covariate, one column per sample, for one statistic."""
        shown = self.frame[~self.frame.suppressed]
        return (
            shown.pivot(index="covariate", columns="sample", values=statistic)
            .reindex(columns=sample_order(shown["sample"]))
            .reindex(shown["covariate"].drop_duplicates())
        )

    @property
    def imbalanced(self) -> list[str]:
        """Covariates still flagged (|SMD| >= 0.1) after adjustment, in any adjusted sample."""
        adjusted = self.frame[(self.frame["sample"] != "unadjusted") & ~self.frame.suppressed]
        return sorted(set(adjusted.loc[adjusted.smd_flag, "covariate"]))

    @property
    def suppressed(self) -> list[str]:
        return sorted(set(self.frame.loc[self.frame.suppressed, "covariate"]))

    def summary(self) -> str:
        table = self.wide("smd")
        lines = [
            f"Balance (standardised mean differences; SD of the {_scale_label(self.estimand)} "
            "in the unadjusted sample)",
            table.to_string(float_format=lambda v: f"{v: .3f}"),
        ]
        if self.imbalanced:
            lines.append(f"|SMD| >= {SMD_THRESHOLD} after adjustment: {', '.join(self.imbalanced)}")
        if self.suppressed:
            lines.append(
                f"{len(self.suppressed)} categories with fewer than {self.min_cell_size} returnees "
                "in a group are suppressed"
            )
        return "\n".join(lines)

    def to_records(self) -> list[dict]:
        """Rows for ``results.json``: suppressed rows keep only their labels (``term`` only on
        the rows of a term, so that a suppressed covariate's row is what it was before terms)."""
        records = []
        for row in self.frame.to_dict("records"):
            if row["suppressed"]:
                labels = ("covariate", "source", "type", "sample", "suppressed")
                kept = labels + ("term",) if row["term"] else labels
                row = {k: row[k] for k in kept}
            records.append(row)
        return records


def _scale_label(estimand: str) -> str:
    return {"ATT": "treated", "ATC": "controls"}.get(estimand, "pooled groups")


def balance_table(
    frame: pd.DataFrame,
    covariates: list[str],
    categorical: list[str],
    treated: np.ndarray,
    weights: dict[str, np.ndarray],
    estimand: str,
    min_cell_size: int = 10,
    sample_weight: np.ndarray | None = None,
    terms: dict[str, tuple[str, np.ndarray]] | None = None,
) -> BalanceTable:
    """Balance of every covariate in the unadjusted sample and under each set of ``weights``
    (e.g. ``{"matched": matching weights, "weighted": IPW weights}``), then of every design
    column in ``terms`` (name -> (term, values)), marked as a term. With ``sample_weight``
    every sample is also weighted by the sampling weights (the unadjusted one by them alone), so
    that balance is that of the population they represent (as cobalt does with ``s.weights``)."""
    t = np.asarray(treated).astype(np.int8)
    s = np.ones(t.size) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    samples = {"unadjusted": s, **{name: np.asarray(w, float) * s for name, w in weights.items()}}
    groups = {name: ((w > 0) & (t == 1), (w > 0) & (t == 0)) for name, w in samples.items()}
    every = np.column_stack(list(samples.values()))  # units x samples, for one eCDF pass
    variables = [
        (name, *v, False) for name, v in covariate_columns(frame, covariates, categorical).items()
    ]
    variables += [(name, *v, True) for name, v in (terms or {}).items()]

    def rows_of(name: str, source: str, x: np.ndarray, is_term: bool) -> list[dict]:
        binary = bool(np.isin(x, (0.0, 1.0)).all())
        suppressed = binary and _small_share(x, t, samples, min_cell_size)
        scale = smd_scale(x, t, estimand, sample_weight)
        ecdf = SortedCovariate.of(x, t).ecdf_differences_all(every)  # sorted once for all
        rows = []
        for (sample, w), gaps in zip(samples.items(), ecdf, strict=True):
            stats = _statistics(x, w, groups[sample], scale, binary, gaps)
            low, high = VARIANCE_RATIO_BOUNDS
            ratio = stats["variance_ratio"]
            rows.append(
                {
                    "covariate": name,
                    "source": source,
                    "type": "binary" if binary else "continuous",
                    "term": is_term,
                    "sample": sample,
                    **stats,
                    "smd_flag": bool(abs(stats["smd"]) >= SMD_THRESHOLD),
                    "variance_flag": bool(np.isfinite(ratio) and not low <= ratio <= high),
                    "suppressed": bool(suppressed),
                }
            )
        return rows

    # covariates in parallel threads (sorting, gathering and the eCDF pass release the GIL)
    rows = [row for found in _map(rows_of, variables, t.size) for row in found]
    effective = {
        sample: {
            "treated": effective_sample_size(np.asarray(w, float)[t == 1]),
            "control": effective_sample_size(np.asarray(w, float)[t == 0]),
        }
        for sample, w in samples.items()
    }
    return BalanceTable(pd.DataFrame(rows), estimand, effective, min_cell_size)


def _map(function, items: list[tuple], n: int) -> list:
    """``function(*item)`` for every item, in order: in threads when the data are large and the
    run may use several cores (:func:`reimpact.parallel.inner_threads`)."""
    from ..parallel import inner_threads

    workers = inner_threads(n)
    if workers < 2 or len(items) < 2:
        return [function(*item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(workers, len(items))) as pool:
        return list(pool.map(lambda item: function(*item), items))


def _small_share(
    x: np.ndarray, t: np.ndarray, samples: dict[str, np.ndarray], min_cell_size: int
) -> bool:
    """Whether a 0/1 covariate's share would disclose a small count in some group and sample:
    share times the group's size gives the count of 1s, and its complement the count of 0s, so
    both must be 0 or at least ``min_cell_size`` among the units the sample uses."""
    for w in samples.values():
        for group in (0, 1):
            used = (t == group) & (np.asarray(w) > 0)
            ones = int(x[used].sum())
            for count in (ones, int(used.sum()) - ones):
                if 0 < count < min_cell_size:
                    return True
    return False
