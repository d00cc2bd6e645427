"""The ``panel`` section of a study file: repeated survey rounds of the same returnees (long data),
and what ``design: did`` needs of it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from .._validation import Section

if TYPE_CHECKING:
    from .study import Study


class PanelSpec(Section):
    """Long data: one row per unit and survey round.

    ``id`` names the unit (the returnee) and ``round`` the survey round (numbers, ordered);
    ``time``, optionally, the time since return at the survey (its mean in each round is in the
    notes of the round's effects). Rows of one
    unit share a cluster in every standard error. Covariates are taken from each unit's first
    round surveyed (they describe the unit before the assistance could change them).

    ``baseline`` is the value of ``round`` surveyed *before* assistance started; ``design: did``
    needs it: every later round is then compared with it by doubly robust
    difference-in-differences (:mod:`reimpact.estimators.did`), and every earlier round gives a
    pre-trend (placebo) estimate against it. ``sampling``: ``panel`` (default) when the same units
    are resurveyed (the difference of each unit's outcome between the two rounds, units seen in
    both); ``repeated`` when each round is a fresh sample (the repeated cross-section estimator on
    the rows of the two rounds, a unit surveyed in both clustered). ``did_method``: ``improved``
    (inverse probability tilting and weighted least squares, Sant'Anna & Zhao 2020 Section 3.1;
    default) or ``traditional`` (logistic maximum likelihood and least squares; panel only).

    ``covariates_from``: ``first`` (default) gives every row its unit's first-round covariates;
    ``each`` keeps every row's own (for covariates measured anew in every round and not changed by
    the assistance).

    ``bands``: edges of bands of ``time`` (e.g. ``[0, 6, 12, 24]`` months since return) along
    which the cross-sectional effect path runs instead of the rounds; a band is [edge, next edge),
    and a unit surveyed twice within one band is one cluster in its estimates.
    """

    id: str = Field(min_length=1)
    round: str = Field(min_length=1)
    time: str | None = None
    baseline: int | float | None = None
    bands: list[float] | None = None
    covariates_from: Literal["first", "each"] = "first"
    sampling: Literal["panel", "repeated"] = "panel"
    did_method: Literal["improved", "traditional"] = "improved"

    @property
    def columns(self) -> list[str]:
        """The columns the section names."""
        return [self.id, self.round, *([self.time] if self.time else [])]


def check_panel(study: Study) -> None:
    """``design: did`` needs ``panel`` with its ``baseline``; the panel's columns play no other
    role. Raises ``ValueError`` (the study turns it into a one-line StudyError)."""
    panel = study.panel
    if panel is None:
        if study.design == "did":
            raise ValueError(
                "design: 'did' needs a 'panel' section: {id: <unit column>, round: <round column>, "
                "baseline: <pre-assistance round>}"
            )
        return
    if study.design == "did" and panel.baseline is None:
        raise ValueError("panel.baseline: design 'did' needs the round surveyed before assistance")
    if panel.bands is not None:
        if panel.time is None:
            raise ValueError("panel.bands: bands of time since return need 'time', the column")
        if len(panel.bands) < 2 or sorted(set(panel.bands)) != panel.bands:
            raise ValueError("panel.bands: give at least two increasing edges, e.g. [0, 6, 12, 24]")
    if panel.did_method == "traditional" and panel.sampling == "repeated":
        raise ValueError("panel.did_method: 'traditional' is for panel sampling; use 'improved'")
    if study.treatment.multivalued:
        raise ValueError("panel: takes a binary treatment; remove 'reference' from treatment")
    if study.missing not in ("drop", "impute"):
        raise ValueError("panel: multiple imputation is not available with panel data; use 'drop'")
    roles = {*study.outcomes, *study.treatment.columns, *study.covariate_terms.columns}
    roles |= {c for c in (study.cluster, study.weights) if c}
    for column in panel.columns:
        if column in roles:
            raise ValueError(
                f"panel: column '{column}' also plays another role in the study; remove it there"
            )
