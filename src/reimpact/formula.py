"""Covariates written as model terms, parsed once when the study is validated.

An entry of ``covariates`` is a plain column name (as before) or, when it holds ``:``, ``*``, ``~``
or a backtick, or starts with a function call (``name(``), a term in the right-hand-side formula
syntax of `formulaic <https://matthewwardrop.github.io/formulaic/>`_ (so ``re74 (USD)`` stays a
column name, as do names with ``+`` or ``$``):

* ``I(age**2)``, ``I(re74 == 0)``, ``np.log1p(re74)``: an expression of columns;
* ``age:sex`` (the product of its factors), ``age*sex`` (``age + sex + age:sex``),
  ``(a + b)**2`` (the main effects and their pairwise products);
* ``C(country)``: the column as categories, coded like a text column (against its most frequent
  level), also in the separation rule, balance and the missing-data policy;
* ``bs(age, df=4)``, ``cr(age, df=4)``, ``cs(...)``, ``cc(...)``, ``poly(age, 2)``: spline and
  polynomial bases, fitted on the analysis sample;
* a column name that holds such characters, in backticks: ``\u0060income (USD)\u0060``.

formulaic evaluates an expression with Python's ``eval``, so a study file could otherwise run any
code. An expression may therefore hold only column names, numbers (text only in a comparison such
as ``I(sex == 'F')``), the operators ``+ - * / // % ** & |`` and comparisons, an exponent that is
a number at most 10 in size, and calls of :data:`FUNCTIONS` and ``np.`` :data:`NUMPY` (with
numbers as keyword values); anything else (attributes, subscripts, other names called,
``__import__``) is refused before anything is evaluated. Every name that is not called must be a
column of the data, which :mod:`reimpact.sample` checks.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Literal

from ._validation import Section

# an entry holding one of these characters, or starting with a call, is a term; others name a column
TERM_MARKERS = frozenset(":*~`")
_CALL = re.compile(r"\s*[A-Za-z_][\w.]*\(")
# formulaic's functions a term may call: C, I, spline and polynomial bases, logs, scaling
FUNCTIONS = frozenset(
    {"I", "C", "bs", "cr", "cs", "cc", "poly", "log", "log2", "log10", "exp", "center", "scale"}
    | {"standardize"}
)
# numpy functions a term may call as np.<name>
NUMPY = frozenset(
    {"log", "log1p", "log2", "log10", "exp", "expm1", "sqrt", "cbrt", "square", "abs", "sign"}
    | {"floor", "ceil", "minimum", "maximum", "clip", "arcsinh", "tanh"}
)
KEYWORDS = frozenset(
    {"df", "knots", "degree", "include_intercept", "lower_bound", "upper_bound", "extrapolation"}
    | {"raw", "constraints", "center", "scale", "ddof"}
)
_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.BitAnd, ast.BitOr)
_UNARY = (ast.USub, ast.UAdd, ast.Invert)
_COMPARE = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)
MAX_EXPONENT = 10
ALLOWED = (
    "a term may use column names, numbers, + - * / ** and comparisons, and the functions "
    f"{', '.join(sorted(FUNCTIONS))} and np.{', np.'.join(sorted(NUMPY))}"
)


@dataclass(frozen=True)
class Factor:
    """One factor of a term: a ``column``, a column as categories (``categorical``, from ``C()``),
    or an ``expression`` evaluated by formulaic; ``columns`` are the data columns it uses."""

    expr: str
    kind: Literal["column", "categorical", "expression"]
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Term:
    """One model term (formulaic's label, e.g. ``age:sex``), its factors and the entry it came from."""

    label: str
    entry: str
    factors: tuple[Factor, ...]

    @property
    def plain(self) -> bool:
        """A single column (``C(x)`` included): coded exactly as a plain covariate column."""
        return len(self.factors) == 1 and self.factors[0].kind != "expression"

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for f in self.factors for c in f.columns))


@dataclass(frozen=True)
class CovariateTerms:
    """The terms of the study's covariates, in the order of the entries (a term once)."""

    terms: tuple[Term, ...]

    @property
    def columns(self) -> list[str]:
        """The data columns the covariates use, each once: what balance, the role checks and the
        missing-data policy work on."""
        return list(dict.fromkeys(c for term in self.terms for c in term.columns))

    @property
    def categorical(self) -> list[str]:
        """Columns written as ``C(column)`` somewhere: categorical wherever they are used."""
        kinds = (f for term in self.terms for f in term.factors)
        return list(dict.fromkeys(f.columns[0] for f in kinds if f.kind == "categorical"))

    @property
    def has_terms(self) -> bool:
        """Whether any term is more than a column (an expression or a product)."""
        return not all(term.plain for term in self.terms)

    @property
    def expressions(self) -> list[str]:
        """The expression factors (evaluated by formulaic), each once."""
        found = (f.expr for t in self.terms for f in t.factors if f.kind == "expression")
        return list(dict.fromkeys(found))

    def where(self, column: str) -> str:
        """`` (in the term '<entry>')`` for a column used only inside terms, for messages; else
        ``""``."""
        using = [term for term in self.terms if column in term.columns]
        if not using or any(term.plain for term in using):
            return ""
        return f" (in the term '{using[0].entry}')"


class BalanceSpec(Section):
    """What the balance table holds besides the covariates' columns (each once, a categorical one
    level by level): with ``terms: true``, also one row per design column of every term that is
    more than a column (``I(age ** 2)``, ``age:sex=M``), marked as a term (default false)."""

    terms: bool = False


def parse_covariates(entries: list[str]) -> CovariateTerms:
    """Parse the ``covariates`` entries into terms (a plain column name without formulaic);
    ValueError, prefixed ``covariates:``, names the entry and the fix."""
    terms: dict[str, Term] = {}
    for entry in entries:
        if not (TERM_MARKERS.intersection(entry) or _CALL.match(entry)):
            terms.setdefault(entry, Term(entry, entry, (Factor(entry, "column", (entry,)),)))
            continue
        try:
            parsed = _parse_entry(entry)
        except ValueError as exc:
            raise ValueError(f"covariates: {exc}") from None
        for term in parsed:
            terms.setdefault(term.label, term)
    plain = [t.factors[0].columns[0] for t in terms.values() if t.plain]
    for column in CovariateTerms(tuple(terms.values())).categorical:
        if plain.count(column) > 1:
            raise ValueError(
                f"covariates: '{column}' is listed both as a column and as C({column}); keep one"
            )
    return CovariateTerms(tuple(terms.values()))


def _parse_entry(entry: str) -> list[Term]:
    from formulaic import Formula
    from formulaic.formula import SimpleFormula

    if "~" in entry:
        raise ValueError(f"'{entry}': a covariate is a right-hand-side term; remove the '~' part")
    try:
        formula = Formula(entry)
    except Exception as exc:  # formulaic raises several kinds of parsing error
        problem = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(
            f"'{entry}' does not parse as a term ({problem}); write a column name or a term such "
            "as I(age**2), age:sex or C(country), and a column name with spaces in `backticks`"
        ) from None
    if not isinstance(formula, SimpleFormula):
        raise ValueError(f"'{entry}': write one right-hand-side term, without '|' or '~'")
    out = []
    for term in formula:
        factors = [_factor(entry, f.expr, f.eval_method.value) for f in term.factors]
        kept = tuple(f for f in factors if f is not None)
        if kept:
            out.append(Term(str(term), entry, kept))
    if not out:
        raise ValueError(f"'{entry}' holds no column; write a column name or a term such as I(age**2)")
    return out


def _factor(entry: str, expr: str, method: str) -> Factor | None:
    if method == "literal":
        if expr in {"0", "1", "-1"}:
            return None  # the intercept, which the design leaves to each method
        raise ValueError(f"'{entry}': '{expr}' is a number, not a covariate; remove it")
    if method == "lookup":
        return Factor(expr, "column", (expr,))
    try:
        tree = ast.parse(expr, mode="eval").body
    except SyntaxError:
        raise ValueError(f"'{entry}': '{expr}' is not a valid expression; {ALLOWED}") from None
    if isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == "C":
        if len(tree.args) != 1 or tree.keywords or not isinstance(tree.args[0], ast.Name):
            raise ValueError(
                f"'{entry}': C() takes one column name, e.g. C(country) (the reference level is "
                "the most frequent one)"
            )
        return Factor(expr, "categorical", (tree.args[0].id,))
    columns: list[str] = []
    try:
        _check(tree, columns, text_ok=False)
    except ValueError as exc:
        raise ValueError(f"'{entry}': {exc}; {ALLOWED}") from None
    if not columns:
        raise ValueError(f"'{entry}': '{expr}' uses no column; remove it")
    return Factor(expr, "expression", tuple(dict.fromkeys(columns)))


def _check(node: ast.AST, columns: list[str], text_ok: bool) -> None:
    """Walk an expression, collecting the column names; ValueError for anything not allowed."""
    if isinstance(node, ast.Name):
        columns.append(node.id)
    elif isinstance(node, ast.Constant):
        allowed = (bool, int, float, str) if text_ok else (bool, int, float)
        if not isinstance(node.value, allowed):
            raise ValueError(f"the constant {node.value!r} is not allowed")
    elif isinstance(node, ast.BinOp) and isinstance(node.op, _OPERATORS):
        if isinstance(node.op, ast.Pow) and not _small_number(node.right):
            raise ValueError(f"an exponent must be a number at most {MAX_EXPONENT} in size")
        _check(node.left, columns, False)
        _check(node.right, columns, False)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, _UNARY):
        _check(node.operand, columns, False)
    elif isinstance(node, ast.Compare) and all(isinstance(op, _COMPARE) for op in node.ops):
        for part in (node.left, *node.comparators):
            _check(part, columns, True)
    elif isinstance(node, ast.Call):
        name = _function(node.func)
        if name == "C":
            raise ValueError("C() wraps a whole factor: write C(column) on its own or in a product")
        for arg in node.args:
            _check(arg, columns, False)
        for keyword in node.keywords:
            if keyword.arg not in KEYWORDS:
                raise ValueError(f"the keyword '{keyword.arg}' of {name}() is not allowed")
            _literal(keyword.value)
    else:
        raise ValueError(f"'{ast.unparse(node)}' is not allowed")


def _function(func: ast.expr) -> str:
    if isinstance(func, ast.Name) and func.id in FUNCTIONS:
        return func.id
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id == "np"
        and func.attr in NUMPY
    ):
        return f"np.{func.attr}"
    raise ValueError(f"calling '{ast.unparse(func)}' is not allowed")


def _small_number(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, (int, float))
        and abs(node.value) <= MAX_EXPONENT
    )


def _literal(node: ast.expr) -> None:
    """A keyword value: a number, a truth value, a short text, or a list or tuple of numbers."""
    if isinstance(node, (ast.List, ast.Tuple)):
        if len(node.elts) > 100 or not all(_small_literal(e) for e in node.elts):
            raise ValueError("a list of keyword values may hold at most 100 numbers")
    elif not (_small_literal(node) or isinstance(node, ast.Constant) and isinstance(node.value, str)):
        raise ValueError(
            f"the keyword value '{ast.unparse(node)}' must be a number or a list of numbers"
        )


def _small_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant) and isinstance(node.value, (bool, int, float, type(None)))
