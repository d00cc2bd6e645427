"""The command line's contract under fuzzed input: exit 0, or exit 2 with one ``reimpact: error:`` line.

A short version of the fuzz campaign ``benchmarks/fuzz.py`` (which also shrinks and writes out
reproducers): the same mutations of the shipped studies and of simulated data files, drawn by
hypothesis, mostly through ``reimpact validate`` and sometimes through a small ``reimpact run``
(figures stubbed, as in the campaign). The draws are derandomized, so every session and CI run
checks the same 250 cases (the long campaign explores new ones); a failure's notes list the case's
mutations (replay one with ``benchmarks/fuzz.py`` helpers: ``run_case(case)``). Typically 10 s;
up to about 45 s when a ``run`` case first imports DoWhy/EconML or compiles the matching code.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from fuzz import describe, generate_case, run_case  # noqa: E402

CASE_TIMEOUT = 20.0


def _check(case: dict) -> None:
    note(describe(case))
    result = run_case(case, timeout=CASE_TIMEOUT, full_report=False)
    note(f"result: {result['outcome']} (exit {result.get('exit_code')})")
    note(result.get("traceback") or result.get("stderr", ""))
    if result["outcome"] == "skipped":  # the harness could not write this corrupted file
        return
    assert result["outcome"] in ("ok", "refused"), result.get("signature")


@pytest.mark.slow
@settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    # no shrinking: the random choices shrink poorly and a failure's notes describe its case
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(rnd=st.randoms(use_true_random=False), command=st.sampled_from(["validate"] * 17 + ["run"] * 3))
def test_fuzzed_input_exits_0_or_refuses_in_one_line(rnd, command):
    _check(generate_case(rnd, command))


def test_cases_are_reproducible_from_their_seed():
    """The campaign replays a case from (seed, index): generation must not depend on anything else."""
    from fuzz import case_rng

    assert generate_case(case_rng(3, 17)) == generate_case(case_rng(3, 17))
    assert generate_case(case_rng(3, 17)) != generate_case(case_rng(3, 18))
