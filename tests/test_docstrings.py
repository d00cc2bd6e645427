"""Numpydoc docstrings on the public API: every function and class in ``reimpact.__all__``.

For each such name (``__version__`` and the ``METHODS`` dict are data, not callables, and are left
out) the test checks that

* it has a docstring, and the docstring starts with a one-line summary: a first line that is not
  empty and ends with a full stop, followed by a blank line or by nothing;
* when the callable takes parameters other than ``self`` (for a class, the parameters of its
  ``__init__``: its own, a dataclass's generated one, or the one it inherits from a class of the
  package, as the subclasses of ``ReimpactError`` do), the docstring has a numpydoc ``Parameters``
  section (the word underlined with dashes) with an entry ``name : type`` for each of them, and
  names no parameter the signature does not have.

Two kinds of class are checked differently:

* a pydantic model (``Study``) gets its ``__init__`` generated from its fields, so instead its
  ``Attributes`` section must name every field;
* a class whose ``__init__`` comes from Python itself (``NotFittedError`` with ``ValueError``'s,
  ``EffectEstimator`` with ``object``'s) has no parameters of the package's to name.

The last tests run the checker on small made-up docstrings, so that a missing, misspelt or stale
parameter is known to fail.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable

import pytest
from pydantic import BaseModel

import reimpact

# a section header: its title, then a line of dashes under it
_HEADER = re.compile(r"^(?P<title>[A-Z][A-Za-z ]*)\n-{3,}$", re.MULTILINE)
# an entry of a Parameters/Attributes section: "name : type", "name" or "a, b : type"
_ENTRY = re.compile(r"^(?P<names>\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)*)\s*(?::.*)?$")


def public_callables() -> list[tuple[str, object]]:
    """(name, object) for every function and class in ``reimpact.__all__``."""
    out = []
    for name in reimpact.__all__:
        obj = getattr(reimpact, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            out.append((name, obj))
    return out


def sections(doc: str) -> dict[str, list[str]]:
    """The numpydoc sections of a (cleaned) docstring: title -> the lines under its dashes."""
    headers = list(_HEADER.finditer(doc))
    found: dict[str, list[str]] = {}
    for k, match in enumerate(headers):
        end = headers[k + 1].start() if k + 1 < len(headers) else len(doc)
        found[match["title"]] = doc[match.end() : end].strip("\n").splitlines()
    return found


def entries(lines: list[str]) -> list[str]:
    """The names a Parameters or Attributes section documents: its unindented entry lines."""
    names: list[str] = []
    for line in lines:
        if not line.strip() or line[0].isspace():
            continue  # a description line, or a blank one
        match = _ENTRY.match(line.rstrip())
        if match:
            names += [name.strip().lstrip("*") for name in match["names"].split(",")]
    return names


def summary_problem(doc: str | None) -> str | None:
    """Why ``doc`` does not start with a one-line summary, or None when it does."""
    if not doc or not doc.strip():
        return "no docstring"
    lines = inspect.cleandoc(doc).splitlines()
    if not lines[0].strip():
        return "the first line is empty"
    if not lines[0].rstrip().endswith("."):
        return f"the summary line does not end with a full stop: {lines[0]!r}"
    if len(lines) > 1 and lines[1].strip():
        return f"the summary runs over more than one line: {lines[1]!r}"
    return None


def own_parameters(obj: object) -> list[str] | None:
    """The parameters the docstring must name (no ``self``); None for a pydantic model."""
    if inspect.isclass(obj):
        if issubclass(obj, BaseModel):
            return None
        owner = next(klass for klass in obj.__mro__ if "__init__" in vars(klass))
        if owner.__module__ == "builtins":
            return []  # object's, or an exception's (*args): nothing of the package's to name
        function: Callable[..., object] = vars(owner)["__init__"]
    else:
        assert callable(obj)
        function = obj
    parameters = inspect.signature(function).parameters
    return [name for name in parameters if name != "self"]


def parameter_problems(doc: str | None, parameters: list[str]) -> list[str]:
    """What the docstring's Parameters section lacks or has too many of, given ``parameters``."""
    if not parameters:
        return []
    found = sections(inspect.cleandoc(doc or ""))
    if "Parameters" not in found:
        return [f"no numpydoc Parameters section (parameters: {', '.join(parameters)})"]
    named = entries(found["Parameters"])
    problems = [
        f"parameter '{p}' is not in the Parameters section" for p in parameters if p not in named
    ]
    problems += [
        f"Parameters names '{n}', which is not a parameter" for n in named if n not in parameters
    ]
    return problems


PUBLIC = public_callables()


def test_the_public_api_has_functions_and_classes() -> None:
    names = [name for name, _ in PUBLIC]
    assert {"run_study", "load_study", "Study", "Effect", "register", "EffectEstimator"} <= set(names)
    assert "METHODS" not in names and "__version__" not in names


@pytest.mark.parametrize(("name", "obj"), PUBLIC, ids=[name for name, _ in PUBLIC])
def test_docstring_starts_with_a_one_line_summary(name: str, obj: object) -> None:
    problem = summary_problem(obj.__doc__)
    assert problem is None, f"reimpact.{name}: {problem}"


@pytest.mark.parametrize(("name", "obj"), PUBLIC, ids=[name for name, _ in PUBLIC])
def test_parameters_section_names_every_parameter(name: str, obj: object) -> None:
    parameters = own_parameters(obj)
    if parameters is None:
        pytest.skip("a pydantic model: its fields are checked in the Attributes section")
    problems = parameter_problems(obj.__doc__, parameters)
    assert not problems, f"reimpact.{name}: " + "; ".join(problems)


def test_study_attributes_name_every_field() -> None:
    found = sections(inspect.cleandoc(reimpact.Study.__doc__ or ""))
    assert "Attributes" in found, "reimpact.Study: no numpydoc Attributes section"
    named = entries(found["Attributes"])
    missing = [field for field in reimpact.Study.model_fields if field not in named]
    assert not missing, f"reimpact.Study: fields not in the Attributes section: {', '.join(missing)}"


# -- the checker itself ----------------------------------------------------------------------------


def _documented(x: int, *, scale: float = 1.0) -> int:
    """Multiply.

    Parameters
    ----------
    x : int
        The value.
    scale : float
        The factor.

    Returns
    -------
    int
    """
    return int(x * scale)


def _one_missing(x: int, *, scale: float = 1.0) -> int:
    """Multiply.

    Parameters
    ----------
    x : int
        The value.

    Returns
    -------
    scale : float
        Not a parameter entry: it sits in the Returns section.
    """
    return int(x * scale)


def _misspelt(x: int, *, scale: float = 1.0) -> int:
    """Multiply.

    Parameters
    ----------
    x, scael : int
        The value and a misspelt factor.
    """
    return int(x * scale)


def test_the_checker_accepts_a_complete_docstring() -> None:
    assert summary_problem(_documented.__doc__) is None
    assert parameter_problems(_documented.__doc__, own_parameters(_documented) or []) == []


def test_the_checker_fails_on_a_missing_or_misspelt_parameter() -> None:
    assert parameter_problems(_one_missing.__doc__, ["x", "scale"]) == [
        "parameter 'scale' is not in the Parameters section"
    ]
    assert parameter_problems(_misspelt.__doc__, ["x", "scale"]) == [
        "parameter 'scale' is not in the Parameters section",
        "Parameters names 'scael', which is not a parameter",
    ]
    assert parameter_problems("Multiply.\n\nx : int\n", ["x"]) == [
        "no numpydoc Parameters section (parameters: x)"
    ]


def test_the_checker_wants_a_one_line_summary() -> None:
    assert summary_problem(None) == "no docstring"
    assert summary_problem("Read a file\n") is not None
    assert summary_problem("Read a file and\nvalidate it.\n") is not None
    assert summary_problem("Read a file.\n\n    More text.\n") is None
