"""Write ``kobo_example.csv``: a simulated KoBoToolbox export of 300 returnees, as a field team
would hand it over, for ``studies/kobo_example.yaml``.

The rows come from :func:`reimpact.datasets.simulate_returnees` (n=300, seed=11); the file has
KoBo's shape: ``;``-separated, XML headers with group paths (``group_hh/age``), the assistance
received as a select_multiple question in both of KoBo's forms (``assistance`` with space-
separated codes and one 0/1 column per choice), the vulnerabilities as a select_multiple question
in the space-separated form only, yes/no answers as text, and KoBo's metadata columns (``start``,
``end``, ``_uuid``, ``_submission_time``...). Simulated data: the true effects are known, none of
the rows is a real person. Running the script again gives the same bytes:

    python studies/data/make_kobo_example.py
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from reimpact.datasets import simulate_returnees

OUT = Path(__file__).with_name("kobo_example.csv")
N, SEED = 300, 11
ACTIVITIES = ("economic", "social", "psychosocial")
VULNERABILITIES = {
    "trafficking": "victim_of_trafficking",
    "health": "health_condition",
    "minor": "unaccompanied_minor",
}


def kobo_example(n: int = N, seed: int = SEED) -> pd.DataFrame:
    """The simulated cohort as a KoBoToolbox export (columns in the export's order)."""
    data = simulate_returnees(n=n, seed=seed).data
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2020-03-02T08:00:00+00:00") + pd.to_timedelta(
        np.sort(rng.integers(0, 60 * 24 * 3600, n)), unit="s"
    )
    end = start + pd.to_timedelta(rng.integers(900, 2700, n), unit="s")
    received = data[[f"{a}_activity" for a in ACTIVITIES]].to_numpy(dtype=bool)
    flags = data[list(VULNERABILITIES.values())].to_numpy(dtype=bool)
    uuids = [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(n)]
    export: dict[str, object] = {
        "start": start.strftime("%Y-%m-%dT%H:%M:%S.000+00:00"),
        "end": end.strftime("%Y-%m-%dT%H:%M:%S.000+00:00"),
        "today": start.strftime("%Y-%m-%d"),
        "deviceid": [f"collect:{rng.integers(10**15, 10**16):x}" for _ in range(n)],
        "group_intro/country": data["country"],
        "group_intro/survey_round": data["survey_round"],
        "group_hh/age": data["age"],
        "group_hh/sex": data["sex"],
        "group_hh/education": data["education"],
        "group_hh/household_size": data["household_size"],
        "group_hh/vulnerabilities": [
            " ".join(c for c, f in zip(VULNERABILITIES, row, strict=True) if f) or "none"
            for row in flags
        ],
        "group_migration/host_region": data["host_region"],
        "group_migration/months_abroad": data["months_abroad"],
        "group_migration/return_type": data["return_type"],
        "group_migration/employed_before_return": np.where(
            data["employed_before_return"] == 1, "yes", "no"
        ),
        "group_migration/months_since_return": data["months_since_return"],
        "group_assistance/assistance": [
            " ".join(a for a, r in zip(ACTIVITIES, row, strict=True) if r) for row in received
        ],
    }
    for i, activity in enumerate(ACTIVITIES):
        export[f"group_assistance/assistance/{activity}"] = received[:, i].astype(int)
    for column in [c for c in data.columns if c.startswith("rss_")]:
        export[f"group_rss/{column}"] = data[column]
    export |= {
        "meta/instanceID": [f"uuid:{u}" for u in uuids],
        "_id": np.arange(1_000_101, 1_000_101 + n),
        "_uuid": uuids,
        "_submission_time": end.strftime("%Y-%m-%dT%H:%M:%S"),
        "_validation_status": "",
        "_notes": "",
        "_status": "submitted_via_web",
        "_submitted_by": "",
        "__version__": "vQj3kZ8xPqYb6VmT2sLr9a",
        "_tags": "",
        "_index": np.arange(1, n + 1),
    }
    return pd.DataFrame(export)


def main() -> int:
    kobo_example().to_csv(OUT, sep=";", index=False, lineterminator="\n")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
