"""Fingerprints of the simulated data and of the prepared analysis sample, to check that a change
of the data path leaves every number, column and dtype as it was.

Hashes (``pandas.util.hash_pandas_object`` with the dtypes and column names) of the simulated
cohort (``data``, ``truth``, ``individual_effects``, the potential outcomes under every assistance
type and number of activities, the survey sample), of the simulated panel, of ``scoring.score``
on the cohort's raw answers, and of ``prepare_sample`` on the shipped ORION study at n rows.

    python benchmarks/data_hashes.py save  FILE [--big]   # write the fingerprints
    python benchmarks/data_hashes.py check FILE [--big]   # compare, print what differs (exit 1)

``--big`` adds the cohort and the prepared sample at 1,000,000 rows (about a minute).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from reimpact.config.study import load_study
from reimpact.datasets import draw_survey_sample, simulate_returnee_panel, simulate_returnees
from reimpact.sample import prepare_sample
from reimpact.scoring import SCORE_COLUMNS, score

ROOT = Path(__file__).resolve().parent.parent


def frame_hash(frame: pd.DataFrame) -> str:
    """One digest of a frame's values, index, column names and dtypes."""
    digest = hashlib.sha256()
    digest.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    digest.update(repr(list(frame.index[:5])).encode() + str(frame.index.dtype).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def potential_hash(potential: dict[str, dict[str, np.ndarray]]) -> str:
    digest = hashlib.sha256()
    for level, outcomes in potential.items():
        for outcome, values in outcomes.items():
            digest.update(f"{level}/{outcome}/{values.dtype}".encode())
            digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()[:16]


def cohort_hashes(n: int, seed: int) -> dict[str, str]:
    cohort = simulate_returnees(n=n, seed=seed)
    found = {
        "data": frame_hash(cohort.data),
        "truth": frame_hash(cohort.truth),
        "individual_effects": frame_hash(cohort.individual_effects),
        "potential_types": potential_hash(cohort.potential_types),
        "potential_doses": potential_hash(cohort.potential_doses),
        "contrast_truth": frame_hash(cohort.contrast_truth()),
        "dose_truth": "".join(frame_hash(f) for f in cohort.dose_truth()),
    }
    survey = draw_survey_sample(cohort, seed)
    found["survey"] = frame_hash(survey.data) + frame_hash(survey.individual_effects)
    rescored = score(cohort.data.drop(columns=list(SCORE_COLUMNS.values())))
    found["rescored"] = frame_hash(rescored)
    return {f"cohort(n={n}, seed={seed}).{k}": v for k, v in found.items()}


def panel_hashes(n: int, seed: int) -> dict[str, str]:
    panel = simulate_returnee_panel(n=n, seed=seed)
    return {
        f"panel(n={n}, seed={seed})": frame_hash(panel.data)
        + frame_hash(panel.individual_effects)
        + frame_hash(panel.truth)
    }


def sample_hashes(n: int) -> dict[str, str]:
    study = load_study(ROOT / "studies" / "orion_mentoring.yaml")
    study = study.model_copy(update={"data": study.data.model_copy(update={"n": n})})
    sample = prepare_sample(study)
    digest = frame_hash(sample.frame) + hashlib.sha256(sample.treatment.tobytes()).hexdigest()[:8]
    flow = json.dumps(sample.flow.to_dict(), sort_keys=True)
    extra = repr((sample.covariate_columns, sample.categorical, str(sample.treatment.dtype), flow))
    return {f"prepare_sample(orion, n={n})": digest + hashlib.sha256(extra.encode()).hexdigest()[:8]}


def all_hashes(big: bool) -> dict[str, str]:
    found = {}
    found |= cohort_hashes(20000, 7)
    found |= cohort_hashes(6000, 3)
    found |= cohort_hashes(50, 0)
    found |= panel_hashes(3000, 0)
    found |= panel_hashes(400, 5)
    found |= sample_hashes(20000)
    if big:
        found |= cohort_hashes(1_000_000, 7)
        found |= sample_hashes(1_000_000)
    return found


if __name__ == "__main__":
    action, path = sys.argv[1], Path(sys.argv[2])
    hashes = all_hashes("--big" in sys.argv)
    if action == "save":
        path.write_text(json.dumps(hashes, indent=1), encoding="utf-8")
        print(f"{len(hashes)} fingerprints written to {path}")
    else:
        saved = json.loads(path.read_text(encoding="utf-8"))
        differ = [k for k, v in hashes.items() if saved.get(k) != v]
        for key in differ:
            print(f"DIFFERENT {key}: {saved.get(key)} -> {hashes[key]}")
        print(f"{len(hashes) - len(differ)} of {len(hashes)} fingerprints identical")
        sys.exit(1 if differ else 0)
