"""Errors and warnings that users read.

Every error caused by the user's input (a study file, a data file, a scheme file, a design that cannot
be estimated) is a :class:`ReimpactError`. Its message is one line that names the field or column and
says how to fix it; the command-line interface prints it and exits with code 2.
"""

from __future__ import annotations


class ReimpactError(ValueError):
    """Bad input: the message names the field or column and the fix.

    The base class of the errors caused by the user's input (a study file, a data file, a scheme
    file, a design that cannot be estimated); the command-line interface prints its one line and
    exits with code 2. ``field`` is the dotted location of the problem (``"methods.psm.caliper"``,
    ``"column 'age'"``) and is prefixed to the message. It is a :class:`ValueError`, and it pickles
    with both arguments, so that an error raised in a worker process reaches the parent intact.

    Parameters
    ----------
    field : str
        Where the problem is: a study-file key, a column, a command-line option or a file path.
        An empty string leaves the message without a prefix.
    message : str
        What is wrong and how to fix it. ``str(error)`` is ``"<field>: <message>"``, with any
        line breaks escaped so that it stays on one line.

    Attributes
    ----------
    field : str
        The ``field`` given.
    message : str
        The ``message`` given, without the prefix.
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
    """The study file is invalid.

    Raised by :func:`~reimpact.load_study` and :meth:`Study.from_dict <reimpact.Study.from_dict>`
    for a file that cannot be read or parsed, exceeds the size limits, or holds an unknown key, a
    value of the wrong type or an invalid choice, before any data are read.

    Parameters
    ----------
    field : str
        The study file, and the key at fault once the file is parsed, e.g.
        ``"study.yaml: methods.psm.caliper"``.
    message : str
        What is wrong, with the valid choices where there are some.
    """


class DataError(ReimpactError):
    """The data do not fit the study (missing column, wrong type, empty group...).

    Raised when a data file cannot be read or written (:func:`~reimpact.read_table`,
    :func:`~reimpact.write_table`), when the data are checked against the study
    (:func:`~reimpact.prepare_sample`), and when the inputs of an estimator's ``fit`` are not
    usable.

    Parameters
    ----------
    field : str
        The file, the study-file key and column (``"covariates: column 'age'"``) or the ``fit``
        argument at fault.
    message : str
        What is wrong and how to fix it.
    """


class SchemeError(ReimpactError):
    """The scoring scheme is invalid or does not fit the data.

    Raised by :func:`~reimpact.load_scheme` for a scheme file that is missing or invalid, and by
    :func:`~reimpact.score` and :func:`~reimpact.derive_weights` when an indicator's column is
    not in the data, an answer has no coding, or too few returnees answered for PCA weights.

    Parameters
    ----------
    field : str
        The scheme (file) and key, the indicator or the dimension at fault.
    message : str
        What is wrong and how to fix it.
    """


class DesignError(ReimpactError):
    """The design cannot be estimated (no overlap, separation, every treated unit dropped...).

    Raised while the design is fitted or a method runs: the data passed their checks, but no
    comparison can be estimated from them as the study asks (the logistic model diverges, the
    scores of the two groups do not overlap, trimming or a caliper leaves too few units, an
    estimator's settings do not fit together).

    Parameters
    ----------
    field : str
        The study-file key or ``fit`` argument to change, e.g. ``"propensity.trim"``.
    message : str
        What went wrong and what to change.
    """


class DisclosureError(ReimpactError):
    """Publishing would disclose a group smaller than ``report.min_cell_size``.

    Raised by :func:`~reimpact.write_outputs` when the audit of what is about to be published
    finds a leak that the disclosure gate let through; nothing but the figures has been written
    by then, and they are removed again.

    Parameters
    ----------
    field : str
        The setting that is breached (``"report.min_cell_size"``).
    message : str
        The first finding of the audit, and how many more there are.
    """


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
    """A fitted attribute (``effect_``, ``effects_``...) was read before ``fit``.

    It has the same bases as scikit-learn's ``NotFittedError`` (:class:`ValueError` and
    :class:`AttributeError`), so code that catches either works, and ``hasattr`` on an unfitted
    estimator is False. It is not a :class:`ReimpactError`: it reports a mistake in the calling
    code, not in the user's input.
    """
