"""Drawing the report's figures into ``figures/``, in two processes where the machine allows.

Rendering is the report's slowest part (about 1.5 s for the four figures of a matching run,
whatever the number of rows) and it runs while nothing else waits on it, so on a machine with two
or more cores a forked child process draws part of the figures while this process draws the rest.
The child shares the results by copy-on-write (nothing is pickled on the way in) and sends back
only each figure's PNG bytes, its fewest units and any failure; the outputs are the same, in the
same order, as when one process draws them all. The figures are drawn in one process off Linux
(no fork on Windows; on macOS system libraries are not safe in a forked child), inside a
notebook, with one core, or when the run is one of many parallel tasks (``reimpact run-many``,
whose tasks run their inner work on one thread: :func:`reimpact.parallel.single_threaded`); a
child that cannot start or dies leaves its figures to this process.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from ..results import StudyResults

# relative drawing cost, for sharing the figures between the two processes (the eCDF grid holds
# four panels and bins every covariate it shows; the overlap figures bin every unit's score)
_COST = {"ecdf": 4, "overlap": 2, "levels": 2}
_PATIENCE = 300.0  # seconds to wait for the child before drawing its figures here

Drawn = tuple[dict[str, bytes | None], list[dict], list[tuple[str, int]]]


def draw_figures(results: StudyResults, out: Path) -> Drawn:
    """Draw every figure into ``out/figures``: the PNG bytes by name (None where the figure does
    not apply or could not be drawn), a "not run" record for each figure that failed, and the
    fewest units behind an element of each distribution figure (all in ``FIGURES`` order)."""
    from . import FIGURES

    names = list(FIGURES)
    if not _two_processes():
        return _collect(names, _draw(results, out, names))
    mine, theirs = _share(names)
    child = _draw_forked(results, out, theirs)
    found = _draw(results, out, mine)
    found.update(child.receive() if child else {})
    missing = [name for name in theirs if name not in found]  # the child died: draw them here
    found.update(_draw(results, out, missing))
    return _collect(names, found)


def _two_processes() -> bool:
    """Whether a second process may draw: on Linux (macOS's system libraries, Accelerate's BLAS
    among them, are not safe to use in a forked child), not in a notebook, and two cores for the
    run's inner work (:func:`reimpact.parallel.inner_workers`)."""
    import multiprocessing

    from ..parallel import inner_workers

    if "ipykernel" in sys.modules or not sys.platform.startswith("linux"):
        return False
    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    return inner_workers() >= 2


def _share(names: list[str]) -> tuple[list[str], list[str]]:
    """Split the figures between this process and the child by cost (largest first, each to the
    lighter side); the child takes the first, the most costly."""
    loads = [0, 0]
    sides: tuple[list[str], list[str]] = ([], [])
    for name in sorted(names, key=lambda n: -_COST.get(n, 1)):
        side = 1 if loads[1] <= loads[0] else 0
        sides[side].append(name)
        loads[side] += _COST.get(name, 1)
    return sides


class _Child:
    """A forked process drawing some figures; :meth:`receive` waits for what it drew (an empty
    dict when it died or sent nothing)."""

    def __init__(self, process, connection: Connection) -> None:
        self.process = process
        self.connection = connection

    def receive(self) -> dict:
        found = {}
        try:
            if self.connection.poll(_PATIENCE):
                found = self.connection.recv()
        except (EOFError, OSError):  # died before it sent anything
            pass
        if self.process.is_alive():  # hung (e.g. a lock held by a thread at the fork): stop it
            self.process.kill()
        self.process.join()
        self.connection.close()
        return found


def _draw_forked(results: StudyResults, out: Path, names: list[str]) -> _Child | None:
    """Start a forked child drawing ``names``; None when it cannot start (e.g. inside a daemonic
    process, which may not have children)."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child_main, args=(results, out, names, sender), daemon=True)
    try:
        process.start()
    except (AssertionError, OSError):  # a daemonic parent, or no resources for a process
        receiver.close()
        sender.close()
        return None
    sender.close()
    return _Child(process, receiver)


def _child_main(results: StudyResults, out: Path, names: list[str], sender: Connection) -> None:
    """The child's work: draw ``names`` and send what was found."""
    sender.send(_draw(results, out, names))
    sender.close()


def _draw(results: StudyResults, out: Path, names: list[str]) -> dict[str, tuple]:
    """Draw ``names``: by name, (PNG bytes or None, failure record or None, fewest units or None)."""
    from ..exceptions import failure_reason
    from . import FIGURES, figure
    from . import figures as fig

    found: dict[str, tuple] = {}
    for name in names:
        file_name = FIGURES[name]
        try:
            with fig.plt.rc_context({"text.parse_math": False}):  # '$' in column names is text
                drawing = figure(results, name)
            units = getattr(drawing, "min_units", None) if drawing is not None else None
            png = fig.save(drawing, out / "figures", file_name) if drawing is not None else None
            found[name] = (png, None, None if units is None else int(units))
        except Exception as exc:  # noqa: BLE001 - a figure that cannot be drawn must not stop the run
            fig.plt.close("all")
            failure = {"check": f"figure {file_name}", "outcome": "", "method": "",
                       "reason": failure_reason(exc)}  # fmt: skip
            found[name] = (None, failure, None)
    return found


def _collect(names: list[str], found: dict[str, tuple]) -> Drawn:
    """The three outputs of :func:`draw_figures`, in ``names`` order."""
    from . import FIGURES

    drawn = {name: found[name][0] for name in names}
    failed = [found[name][1] for name in names if found[name][1] is not None]
    units = [(FIGURES[name], found[name][2]) for name in names if found[name][2] is not None]
    return drawn, failed, units
