"""Errors and warnings that users read.

Every error caused by the user's input (a study file, a data file, a scheme file, a design that cannot
be estimated) is a :class:`ReimpactError`. Its message is one line that names the field or column and
says how to fix it; the command-line interface prints it and exits with code 2.
"""

from __future__ import annotations


class ReimpactError(ValueError):
    """Bad input: the message names the field or column and the fix.

    ``field`` is the dotted location of the problem (``"methods.psm.caliper"``, ``"column 'age'"``)
    and is prefixed to the message.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        text = f"{field}: {message}" if field else message
        # one line, whatever the user's text holds (a column name with a line break, say)
        super().__init__(text.replace("\r", "\\r").replace("\n", "\\n"))

    def __reduce__(self):
        # pickle with both arguments, so that an error raised in a worker process reaches the parent
        return type(self), (self.field, self.message)


class StudyError(ReimpactError):
    """The study file is invalid."""


class DataError(ReimpactError):
    """The data do not fit the study (missing column, wrong type, empty group...)."""


class SchemeError(ReimpactError):
    """The scoring scheme is invalid or does not fit the data."""


class DesignError(ReimpactError):
    """The design cannot be estimated (no overlap, separation, every treated unit dropped...)."""


class DisclosureError(ReimpactError):
    """Publishing would disclose a group smaller than ``report.min_cell_size``."""


class ReimpactWarning(UserWarning):
    """Something the user must know about a result (clipping, poor overlap, units dropped)."""


def failure_reason(exc: BaseException) -> str:
    """One line that says why a check failed: a package error's own message, or the exception's
    type and first line."""
    if isinstance(exc, ReimpactError):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    reason = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return reason if len(reason) <= 200 else reason[:197] + "..."


class NotFittedError(ValueError, AttributeError):
    """A fitted attribute (``effect_``, ``effects_``...) was read before ``fit`` (the same bases
    as scikit-learn's ``NotFittedError``, so code that catches either works)."""
