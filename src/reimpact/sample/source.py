"""Where the rows come from: the study's data file (through :mod:`reimpact.io`) or the built-in
simulated cohort, with a :class:`DataSource` recording which, and the file's SHA-256, for the report."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from ..config.study import Study
from ..datasets import TRUTHS, SimulatedCohort, draw_survey_sample, simulate_returnees
from ..datasets.panel import simulate_returnee_panel
from ..exceptions import DataError
from ..io import KOBO_SUFFIXES, read_table

DEFAULT_SIMULATED_N = 20000
DEFAULT_PANEL_N = 3000  # returnees of the simulated panel (about 11,000 rows)


@dataclass(frozen=True)
class DataSource:
    """What was read: a description, the file's SHA-256 (None for simulated data), and, for the
    simulated cohort, the cohort itself (it knows the true effects; its ``data`` keep only the
    treatment columns, which its truth needs: the full rows are the frame read, and the source
    does not hold them through the analysis)."""

    description: str
    sha256: str | None
    cohort: SimulatedCohort | None = None


def read_data(study: Study, data_path: str | Path | None = None) -> tuple[pd.DataFrame, DataSource]:
    """Read the study's data (or ``data_path``, which replaces the study's data source; it is
    read as a KoBo export, like the study's file, when the study says ``data.kobo`` and it is a
    csv or xlsx file)."""
    if data_path is None and study.data.builtin is not None:
        n = study.data.n or DEFAULT_SIMULATED_N
        seed = study.data.seed if study.data.seed is not None else 0
        if study.data.builtin == "simulated-returnees-panel":
            panel = simulate_returnee_panel(n=study.data.n or DEFAULT_PANEL_N, seed=seed)
            described = f"simulated-returnees-panel (n={study.data.n or DEFAULT_PANEL_N}, seed={seed})"
            return panel.data, DataSource(described, None, _truth_only(panel))
        # the truths of the study's treatment only (the others: 0.5 GB at a million returnees)
        truths = [name for name in TRUTHS if name in (study.treatment.label, study.treatment.column)]
        cohort = simulate_returnees(n=n, seed=seed, truths=truths)
        if study.data.builtin == "simulated-returnees-survey":
            cohort = draw_survey_sample(cohort, seed)
            described = f"simulated-returnees-survey (population n={n}, seed={seed})"
            return cohort.data, DataSource(described, None, _truth_only(cohort))
        described = f"simulated-returnees (n={n}, seed={seed})"
        return cohort.data, DataSource(described, None, _truth_only(cohort))
    named = data_path if data_path is not None else study.data.path
    assert named is not None  # the study's data holds exactly one of builtin and path
    path = _resolve(Path(named), study)
    kobo = study.data.kobo
    layout = kobo.layout() if kobo is not None and path.suffix.lower() in KOBO_SUFFIXES else None
    frame = read_table(path, sheet=study.data.sheet if data_path is None else None, kobo=layout)
    return frame, DataSource(str(path), file_sha256(path))


def _truth_only(cohort: SimulatedCohort) -> SimulatedCohort:
    """The cohort with its data cut to the treatment columns, all its truth needs."""
    treatments = list(dict.fromkeys(cohort.individual_effects.columns.get_level_values(0)))
    return replace(cohort, data=cohort.data[treatments].copy())


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """The SHA-256 of a file, read in chunks of ``chunk`` bytes (a large data file is never held
    in memory twice)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _resolve(path: Path, study: Study) -> Path:
    candidates = [path]
    if not path.is_absolute() and study.source is not None:
        candidates.append(study.source.parent / path)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = " or ".join(str(c) for c in candidates)
    raise DataError("data.path", f"file not found (looked for {tried}); check the path")
