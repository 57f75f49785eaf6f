"""``expression.value`` for an expression read after every solve, without re-listing its parameters each time.

CVXPY's ``Atom.value`` first walks the whole expression tree to collect its parameters (to
answer None when one is unset) and then walks it again to evaluate it. The parameters of an
expression never change, so :class:`ExpressionValue` lists them once; each call checks them
and evaluates the tree (``_value_impl``, the evaluation ``Atom.value`` itself runs). That halves
the cost of reading a rule's left-hand side or the tracking error (tens of µs each, every solve).
The value is the one ``expression.value`` gives, computed by the same code.

Written against CVXPY 1.9 (``Atom.value``: the parameter check, then ``_value_impl``); an
expression whose class defines its own ``value`` is read through ``value``.
"""

from __future__ import annotations

from typing import Any

import cvxpy as cp
from cvxpy.atoms.atom import Atom


class ExpressionValue:
    """Read ``expression.value`` again and again (the same number, one tree walk).

    Parameters
    ----------
    expression : cvxpy.Expression
        The expression read.
    """

    __slots__ = ("expression", "_parameters", "_walk")

    def __init__(self, expression: cp.Expression) -> None:
        self.expression = expression
        #: Evaluate with the tree walk alone (an atom whose class keeps CVXPY's own ``value``).
        self._walk = isinstance(expression, Atom) and type(expression).value is Atom.value
        self._parameters = tuple(expression.parameters()) if self._walk else ()

    def __call__(self) -> Any:
        """``expression.value``: None when a parameter or a variable it needs has no value."""
        if not self._walk:
            return self.expression.value
        for parameter in self._parameters:
            if parameter.value is None:
                return None
        return self.expression._value_impl()
