"""Apply new parameter values to a compiled CVXPY problem, recomputing only the parts they touch.

CVXPY compiles a DPP problem once into a ``ParamConeProg``: three sparse tensors that map the
vector of all parameter values to the solver's data — ``P`` (the quadratic objective), ``q``
with the objective's constant (the linear objective) and ``A`` with ``b`` (the constraints).
Its ``apply_parameters`` multiplies all three at every solve, whatever changed. A frontier
point or an account of a batch usually changes one or two vectors (a bound, the holdings):
then ``P`` and ``A`` (the bulk: the factor loadings) need not be rebuilt. ``A`` and ``b`` share
one tensor (``b`` is the last column of ``[A b]``); its rows are split once, so a moved bound
recomputes ``b`` alone (1.2 → 0.6 ms of a 500-name re-solve) from its own rows of the tensor.

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
from cvxpy.lin_ops.lin_op import CONSTANT_ID

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
        How many times each part (``"P"``, ``"q"``, ``"A"``, ``"b"``) was computed or handed
        back unchanged (for tests and benchmarks). ``A`` computed means ``A`` and ``b`` together
        (one product of their tensor); ``b`` alone is counted under ``"b"`` only.
    """

    def __init__(self, program: Any) -> None:
        self.program = program
        self.original = program.apply_parameters
        self.computed = {"P": 0, "q": 0, "A": 0, "b": 0}
        self.reused = {"P": 0, "q": 0, "A": 0, "b": 0}
        self._columns: dict[str, _Reads | None] | None = None
        #: ``b``'s rows of the ``[A b]`` tensor and where its values go in ``b`` (None: not split).
        self._offset: tuple[Any, np.ndarray, int] | None = None
        #: The parameter vector each part was last computed from, and what it was.
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
        vector = _parameter_vector(program)
        if vector is None:  # no parameters at all: nothing to save
            return self.original(quad_obj=quad_obj)
        if self._columns is None:
            self._split(program.reduced_A)
        if self._changed("q", vector):
            q, offset = canonInterface.get_matrix_from_tensor(program.q, vector, program.x.size, with_offset=True)
            self._parts["q"] = (q.toarray().flatten(), offset)
        # [A b] split: A's entries, then b's (both judged, so each remembers what it was computed from)
        matrix_changed = self._changed("A", vector)
        offset_changed = self._offset is not None and self._changed("b", vector)
        if matrix_changed or getattr(program.reduced_A, "mapping_nonzero", None) is not None:
            A, b = program.reduced_A.get_matrix_from_tensor(vector, with_offset=True)
            self._parts["A"], self._parts["b"] = A, np.atleast_1d(b)
        elif offset_changed:
            self._parts["b"] = self._offset_vector(vector)
        if quad_obj and self._changed("P", vector):
            self._parts["P"] = program.reduced_P.get_matrix_from_tensor(vector, with_offset=False)[0]
        q, offset = self._parts["q"]
        A, b = self._parts["A"], self._parts["b"]
        # copies of the vectors: a caller may keep or change them; the matrices are never changed in place
        if quad_obj:
            return self._parts["P"], q.copy(), offset, A, b.copy()
        return q.copy(), offset, A, b.copy()

    def _split(self, reduced_A: Any) -> None:
        """Which parameter entries each part reads; ``[A b]``'s tensor split into ``A``'s rows and ``b``'s.

        CVXPY's ``[A b]`` values are ``reduced_mat @ vector``, laid out by ``problem_data_index``
        (CSC of ``[A b]``): ``b`` is the last column, the values from ``indptr[-2]`` on. Not split
        (``A`` and ``b`` always together) when the layout is not that, or CVXPY was asked to keep
        explicit zeros in ``A`` (``mapping_nonzero``).
        """
        program, tensor = self.program, reduced_A.reduced_mat
        layout = getattr(reduced_A, "problem_data_index", None)
        self._columns = {
            "q": _columns(program.q),
            "P": _columns(program.reduced_P.reduced_mat) if program.reduced_P.matrix_data is not None else None,
        }
        if layout is None or getattr(reduced_A, "mapping_nonzero", None) is not None or not sp.issparse(tensor):
            self._columns["A"], self._columns["b"] = _columns(tensor), None  # the whole [A b], never split
            return
        indices, indptr, shape = layout
        start = int(indptr[-2])
        rows = sp.csr_array(tensor)
        self._columns["A"] = _columns(rows[:start])
        self._columns["b"] = _columns(rows[start:])
        self._offset = (rows[start:], np.asarray(indices[start:]), int(shape[0]))

    def _offset_vector(self, vector: np.ndarray) -> np.ndarray:
        """``b`` from its own rows of the tensor: the values CVXPY computes for them, summed into place as it does."""
        rows, where, size = self._offset
        b = np.zeros(size)
        np.add.at(b, where, rows @ vector)
        return b

    def _changed(self, part: str, vector: np.ndarray) -> bool:
        """Whether ``part`` must be computed: its entries differ from when it was last (or never was)."""
        reads = self._columns[part] if self._columns is not None else None
        before = self._seen.get(part)
        same = reads is not None and before is not None and reads.same(vector, before)
        (self.reused if same else self.computed)[part] += 1
        if not same and reads is not None:
            self._seen[part] = vector  # each call builds a new vector and never changes it
        return not same


#: A part reading more separate runs of the parameter vector than this is compared by index.
MAX_RUNS = 16


class _Reads:
    """The parameter-vector entries a part reads: a few contiguous runs (compared as views) or an index."""

    __slots__ = ("runs", "index")

    def __init__(self, columns: np.ndarray) -> None:
        breaks = np.flatnonzero(np.diff(columns) != 1) + 1  # where a run of consecutive columns ends
        if len(breaks) < MAX_RUNS:
            self.runs = [(int(run[0]), int(run[-1]) + 1) for run in np.split(columns, breaks) if len(run)]
            self.index = None
        else:
            self.runs, self.index = None, columns

    def same(self, vector: np.ndarray, before: np.ndarray) -> bool:
        """Whether ``vector`` holds the same values as ``before`` at these entries (NaN never the same)."""
        if self.runs is None:
            return bool((vector[self.index] == before[self.index]).all())
        return all((vector[start:stop] == before[start:stop]).all() for start, stop in self.runs)


def _parameter_vector(program: Any) -> np.ndarray | None:
    """CVXPY's parameter vector of ``program`` (``canonInterface.get_parameter_vector``), each value copied once.

    The same layout and values: zeros, each parameter's value flattened in Fortran order at its
    column, and 1 at the constant's column.
    """
    if program.total_param_size == 0:
        return None
    vector = np.zeros(program.total_param_size + 1)
    sizes, parameters = program.param_id_to_size, program.id_to_param
    for param_id, column in program.param_id_to_col.items():
        if param_id == CONSTANT_ID:
            vector[column] = 1
        else:
            vector[column:column + sizes[param_id]] = np.asarray(parameters[param_id].value).ravel(order="F")
    return vector


def _columns(tensor: Any) -> _Reads | None:
    """The parameter-vector entries (columns) a tensor reads; None when it cannot be told."""
    if tensor is None or not sp.issparse(tensor):
        return None
    return _Reads(np.unique(sp.coo_array(tensor).col))
