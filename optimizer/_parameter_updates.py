"""Apply new parameter values to a compiled CVXPY problem, recomputing only the parts they touch.

CVXPY compiles a DPP problem once into a ``ParamConeProg``: three sparse tensors that map the
vector of all parameter values to the solver's data — ``P`` (the quadratic objective), ``q``
with the objective's constant (the linear objective) and ``A`` with ``b`` (the constraints).
Its ``apply_parameters`` multiplies all three at every solve, whatever changed. A frontier
point or an account of a batch usually changes one or two vectors (a bound, the holdings):
then ``P`` and ``A`` (the bulk: the factor loadings) need not be rebuilt.

:class:`IncrementalParameters` replaces that method on one compiled problem (an attribute of
that object only; CVXPY itself is untouched). It computes the parameter vector as CVXPY does,
and recomputes a part only when one of the parameter entries that part depends on changed;
otherwise it returns the part computed last time. A part's value is a function of those
entries alone, so the data handed to the solver are the same, bit for bit, as CVXPY's.

Written against (and tested with) CVXPY 1.9's ``ParamConeProg`` (``q``, ``reduced_A``,
``reduced_P``, ``param_id_to_col``...). A problem without those attributes, with variable-bound
tensors, or a call with other arguments than ``quad_obj`` runs CVXPY's own method unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from cvxpy.cvxcore.python import canonInterface

#: What the incremental method needs of CVXPY's compiled problem.
_REQUIRED = ("q", "reduced_A", "reduced_P", "x", "total_param_size", "param_id_to_col", "param_id_to_size", "id_to_param")


class IncrementalParameters:
    """``ParamConeProg.apply_parameters`` that recomputes only the parts whose parameters changed.

    Parameters
    ----------
    program : cvxpy ParamConeProg
        The compiled problem (``problem._cache.param_prog``).

    Attributes
    ----------
    computed, reused : dict of str to int
        How many times each part (``"P"``, ``"q"``, ``"A"``) was computed or handed back
        unchanged (for tests and benchmarks).
    """

    def __init__(self, program: Any) -> None:
        self.program = program
        self.original = program.apply_parameters
        self.computed = {"P": 0, "q": 0, "A": 0}
        self.reused = {"P": 0, "q": 0, "A": 0}
        self._columns: dict[str, np.ndarray | None] | None = None
        #: Each part's parameter entries when it was last computed, and what it was.
        self._seen: dict[str, np.ndarray] = {}
        self._parts: dict[str, Any] = {}

    @classmethod
    def install(cls, program: Any) -> IncrementalParameters | None:
        """Put an instance in place of ``program.apply_parameters``; None when the program is not one it knows."""
        current = getattr(program, "apply_parameters", None)
        if isinstance(current, cls):
            return current
        if current is None or any(not hasattr(program, name) for name in _REQUIRED):
            return None
        if getattr(program, "lb_tensor", None) is not None or getattr(program, "ub_tensor", None) is not None:
            return None
        instance = cls(program)
        program.apply_parameters = instance
        return instance

    def __call__(
        self, id_to_param_value: Any = None, zero_offset: bool = False, keep_zeros: bool = False, quad_obj: bool = False
    ) -> tuple:
        """As ``ParamConeProg.apply_parameters``: ``(P, q, d, A, b)`` with ``quad_obj``, else ``(q, d, A, b)``."""
        program = self.program
        if id_to_param_value is not None or zero_offset or keep_zeros:
            return self.original(id_to_param_value, zero_offset, keep_zeros, quad_obj)
        program.reduced_A.cache(False)
        if quad_obj:
            program.reduced_P.cache(False)
        vector = canonInterface.get_parameter_vector(
            program.total_param_size,
            program.param_id_to_col,
            program.param_id_to_size,
            lambda param_id: np.array(program.id_to_param[param_id].value),
        )
        if vector is None:  # no parameters at all: nothing to save
            return self.original(quad_obj=quad_obj)
        if self._columns is None:
            self._columns = {
                "q": _columns(program.q),
                "A": _columns(program.reduced_A.reduced_mat),
                "P": _columns(program.reduced_P.reduced_mat) if program.reduced_P.matrix_data is not None else None,
            }
        if self._changed("q", vector):
            q, offset = canonInterface.get_matrix_from_tensor(program.q, vector, program.x.size, with_offset=True)
            self._parts["q"] = (q.toarray().flatten(), offset)
        if self._changed("A", vector):
            A, b = program.reduced_A.get_matrix_from_tensor(vector, with_offset=True)
            self._parts["A"] = (A, np.atleast_1d(b))
        if quad_obj and self._changed("P", vector):
            self._parts["P"] = program.reduced_P.get_matrix_from_tensor(vector, with_offset=False)[0]
        q, offset = self._parts["q"]
        A, b = self._parts["A"]
        # copies of the vectors: a caller may keep or change them; the matrices are never changed in place
        if quad_obj:
            return self._parts["P"], q.copy(), offset, A, b.copy()
        return q.copy(), offset, A, b.copy()

    def _changed(self, part: str, vector: np.ndarray) -> bool:
        """Whether ``part`` must be computed: its entries differ from when it was last (or never was)."""
        columns = self._columns[part] if self._columns is not None else None
        entries = vector[columns] if columns is not None else None
        same = entries is not None and part in self._seen and np.array_equal(entries, self._seen[part])
        (self.reused if same else self.computed)[part] += 1
        if not same and entries is not None:
            self._seen[part] = entries
        return not same


def _columns(tensor: Any) -> np.ndarray | None:
    """The parameter-vector entries (columns) a tensor reads; None when it cannot be told."""
    if tensor is None or not sp.issparse(tensor):
        return None
    return np.unique(sp.coo_array(tensor).col)
