"""The steady state of a model and everything read from it (Model.steady)."""
import ctypes
import math
import warnings

import numpy as np

from . import _lib, _options
from ._errors import InputError, TruncationWarning
from ._lib import lib
from ._values import OscillatorValues, PairValues


_KINDS = {_lib.QS_OBS_OSCILLATOR: "oscillator", _lib.QS_OBS_PAIR: "pair", _lib.QS_OBS_NETWORK: "network"}


def observables():
    """The library's table of observables (MODEL.md §7, §8), in its order: a list of dicts with
    name, kind ("oscillator", "pair" or "network": one value for the whole network), per_level,
    angle, summary and dynamical (a property of the Liouvillian, not of the state alone:
    peak_frequency, fwhm, relaxation_rate, coherence_rate)."""
    out = []
    for i in range(lib.qs_observable_count()):
        o = lib.qs_observable_get(i).contents
        out.append({"name": o.name.decode(), "kind": _KINDS[o.kind], "per_level": bool(o.per_level),
                    "angle": bool(o.angle), "summary": o.summary.decode(), "dynamical": bool(o.needs_model)})
    return out


def observable_index(name):
    """Index of observable `name` in the table; InputError naming the observables otherwise."""
    i = lib.qs_observable_find(_lib.text(str(name), "observable name"))
    if i < 0:
        raise InputError(f"unknown observable {name!r} (observables: {', '.join(o['name'] for o in observables())})")
    return i


def observables_doc():
    where = {"pair": "per pair (a, b)", "oscillator": "per oscillator", "network": "one value"}
    return "\n".join(f"    {o['name']:<20}{where[o['kind']]:<18}{o['summary']}" for o in observables())


def _complex_array(shape):
    a = np.zeros(shape, dtype=np.complex128)
    return a, a.ctypes.data_as(_lib.c_complex_p)


class Result:
    """A solved steady state. Every observable of the library's table is an attribute: pair
    observables indexed by a pair of names, r.S["1", "2"], in either order (r.S["2", "1"] is
    the same number; an angle, phi_max, phi_max_Q or correlation_phase, gives the angle of the
    reversed difference, (2π − φ) mod 2π); oscillator observables by a name, r.mean_n["1"]
    (populations: a NumPy array per oscillator). See qsync.observables().

    Network observables (relaxation_rate, coherence_rate) are plain floats. The dynamical
    observables (peak_frequency, fwhm, relaxation_rate, coherence_rate) are NaN when they were
    not computed; dynamics_reason then says why (None when they were), dynamics_seconds what
    they took.

    Diagnostics: status ("ok", "truncation": the estimated truncation error of S is above
    s_tol or unknown, "top-level": not estimated and a top level holds more than top_tol),
    warnings (the sentences, also issued as qsync.TruncationWarning), residual, levels,
    truncation_error (per pair; NaN when not estimated), truncation_error_max,
    top_population, stats (the solver's figures).

    The state itself: rho(), rho_oscillator(name), rho_pair(a, b), phase_distribution(a, b,
    phi), to_qutip(). Copies (copy.copy, copy.deepcopy) share the state, freed after the last
    of them goes; close() frees it at once, after which these calls raise qsync.Error.
    """

    def __init__(self, handle, s_tol):
        from .model import Model
        self._h = handle
        a = handle.ptr
        model = Model._wrap(lib.qs_model_copy(lib.qs_analysis_model(a)))
        self.model = model
        self.names = model.names
        self.pairs = model.pairs
        n, np_ = len(self.names), len(self.pairs)
        state = lib.qs_analysis_state(a)
        self.levels = {name: lib.qs_state_levels(state, j) for j, name in enumerate(self.names)}
        self.levels_auto = {name: bool(lib.qs_analysis_levels_auto(a, j)) for j, name in enumerate(self.names)}
        stats = lib.qs_analysis_stats(a).contents
        self.stats = {k: (getattr(stats, k).decode() if k == "solver_reason" else getattr(stats, k))
                      for k, _ in _lib.SteadyStats._fields_}
        self.stats["solver"] = "iterative" if stats.solver == _lib.QS_SOLVER["iterative"] else "direct"
        self.stats["lu"] = "klu" if stats.lu == _lib.QS_LU["klu"] else "umfpack"
        self.residual = stats.residual
        self.s_tol = s_tol
        top = lib.qs_analysis_top_population(a)
        self.top_population = OscillatorValues("top_population", self.names, [top[j] for j in range(n)])
        eig = lib.qs_analysis_min_eigenvalues(a)
        self.min_eigenvalue = PairValues("min_eigenvalue", self.pairs, [eig[q] for q in range(np_)])
        conv_p = lib.qs_analysis_truncation(a)
        conv = conv_p.contents if conv_p else None
        self.truncation_error_max = lib.qs_analysis_truncation_error(a)
        if conv is not None:
            err = [conv.error[q] for q in range(np_)]
            self.truncation_change = PairValues("truncation_change", self.pairs, [conv.change[q] for q in range(np_)])
        else:
            err = [math.nan] * np_
            self.truncation_change = None
        self.truncation_skipped = lib.qs_analysis_truncation_reason(a).decode() or None
        self.dynamics_reason = lib.qs_analysis_dynamics_reason(a).decode() or None
        self.dynamics_seconds = lib.qs_analysis_dynamics_seconds(a)
        self.truncation_error = PairValues("truncation_error", self.pairs, err)
        warning = lib.qs_analysis_warning(a).decode()
        self.warnings = [warning] if warning else []
        if conv is not None and np_ and not self.truncation_error_max <= s_tol:
            self.status = "truncation"
        elif warning:
            self.status = "top-level"
        else:
            self.status = "ok"
        count = ctypes.c_size_t()
        ptr = lib.qs_analysis_values(a, ctypes.byref(count))
        values = np.ctypeslib.as_array(ptr, shape=(count.value,)).copy() if count.value else np.zeros(0)
        self._obs = {}
        k = 0
        for o in observables():
            if o["kind"] == "pair":
                self._obs[o["name"]] = PairValues(o["name"], self.pairs, [float(x) for x in values[k:k + np_]],
                                                  angle=o["angle"])
                k += np_
            elif o["kind"] == "network":
                self._obs[o["name"]] = float(values[k])
                k += 1
            elif o["per_level"]:
                arrays = []
                for name in self.names:
                    arrays.append(np.array(values[k:k + self.levels[name]]))
                    k += self.levels[name]
                self._obs[o["name"]] = OscillatorValues(o["name"], self.names, arrays)
            else:
                self._obs[o["name"]] = OscillatorValues(o["name"], self.names, [float(x) for x in values[k:k + n]])
                k += n

    @property
    def _state(self):
        """The C state; qsync.Error after close()."""
        return lib.qs_analysis_state(self._h.ptr)

    def close(self):
        """Free the solved state now (otherwise freed with the last reference to this result or
        a copy of it); the observables stay, and rho() and the other calls on the state raise
        qsync.Error."""
        self._h.close()

    def __copy__(self):
        # Copies share the one owner of the C state (freed once, after the last copy goes).
        new = Result.__new__(Result)
        new.__dict__.update(self.__dict__)
        return new

    def __getattr__(self, name):
        obs = self.__dict__.get("_obs", {})
        if name in obs:
            return obs[name]
        raise AttributeError(f"qsync.Result has no attribute {name!r} (observables: {', '.join(obs)})")

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._obs))

    @property
    def observables(self):
        """Every observable by name: {name: PairValues, OscillatorValues or a float (network)}."""
        return dict(self._obs)

    def __repr__(self):
        head = ", ".join(f"S[{a}-{b}]={self._obs['S'][a, b]:.6g}" for a, b in self.pairs[:6])
        return f"<qsync.Result {self.model.source!r}: {head}{' ...' if len(self.pairs) > 6 else ''}; status {self.status}>"

    def _pair(self, a, b):
        ia, ib = self.model.index(a), self.model.index(b)
        if ia == ib:
            raise InputError(f"a pair needs two different oscillators, not {a!r} twice")
        return ia, ib

    @property
    def dimension(self):
        """D = Π levels: the dimension of the network's Hilbert space."""
        return int(lib.qs_state_dimension(self._state))

    def rho(self):
        """The full density matrix, D × D (complex128), in the tensor-product basis, the first
        oscillator slowest (index Σ_j n_j Π_{k>j} L_k)."""
        D = self.dimension
        a, p = _complex_array((D, D))
        err = _lib.Err()
        _lib.check(lib.qs_state_dense(self._state, p, ctypes.byref(err)), err)
        return a

    def rho_oscillator(self, name):
        """The reduced state of oscillator `name`, L × L (complex128)."""
        j = self.model.index(name)
        L = self.levels[self.names[j]]
        a, p = _complex_array((L, L))
        err = _lib.Err()
        _lib.check(lib.qs_state_reduced_oscillator(self._state, j, p, ctypes.byref(err)), err)
        return a

    def rho_pair(self, a, b):
        """The reduced state of the pair (a, b), (L_a L_b) × (L_a L_b) (complex128), in the basis
        |n_a⟩|n_b⟩ with index n_a L_b + n_b (a slowest; either order of a and b may be asked)."""
        ia, ib = self._pair(a, b)
        d = self.levels[self.names[ia]] * self.levels[self.names[ib]]
        arr, p = _complex_array((d, d))
        err = _lib.Err()
        _lib.check(lib.qs_state_reduced_pair(self._state, ia, ib, p, ctypes.byref(err)), err)
        return arr

    def phase_distribution(self, a, b, phi, husimi=False):
        """P(φ) of φ = φ_a − φ_b (Eq. 6, phase states) at the phases `phi` (array-like), or with
        husimi=True P_Q(φ), the distribution under the two-mode Husimi function (MODEL.md §7).
        2π max P − 1 is S (S_Q). Returns a NumPy array shaped like phi."""
        ia, ib = self._pair(a, b)
        x = np.ascontiguousarray(np.asarray(phi, dtype=np.float64))
        flat = x.reshape(-1)
        out = np.zeros(flat.shape, dtype=np.float64)
        if flat.size > 2 ** 31 - 1:
            raise InputError("phase_distribution: too many phases")
        err = _lib.Err()
        _lib.check(lib.qs_state_phase_distribution(self._state, ia, ib, 1 if husimi else 0, int(flat.size),
                                                   flat.ctypes.data_as(_lib.c_double_p),
                                                   out.ctypes.data_as(_lib.c_double_p), ctypes.byref(err)), err)
        return out.reshape(x.shape)

    def to_qutip(self):
        """The full ρ as a qutip.Qobj with dims [[L1, L2, ...], [L1, L2, ...]] (needs QuTiP)."""
        try:
            import qutip
        except ImportError as e:
            raise ImportError("Result.to_qutip() needs QuTiP (Debian: apt-get install python3-qutip); "
                              "Result.rho() gives the same matrix as a NumPy array") from e
        dims = [self.levels[n] for n in self.names]
        return qutip.Qobj(self.rho(), dims=[dims, dims])


def steady(model, **kw):
    o = _lib.AnalysisOptions()
    lib.qs_analysis_defaults(ctypes.byref(o))
    o.steady, o.guess_tail, o.s_tol = _options.steady_options(kw)
    check = kw.pop("truncation_check", None)
    if check is not None:
        try:
            check = _options.flag("truncation_check", check)
        except InputError:
            raise InputError(f"truncation_check: None (by cost), True or False, not {check!r}") from None
    o.truncation = _lib.QS_TRUNCATION[check]
    o.per_oscillator = 1 if _options.flag("per_oscillator", kw.pop("per_oscillator", False)) else 0
    dynamics = kw.pop("dynamics", None)
    if dynamics is not None:
        try:
            dynamics = _options.flag("dynamics", dynamics)
        except InputError:
            raise InputError(f"dynamics: None (by cost), True or False, not {dynamics!r}") from None
    o.dynamics = _lib.QS_DYNAMICS[dynamics]            # None: by cost, as qsync steady
    _options.no_more(kw, "steady")
    if o.per_oscillator and check is False:
        raise InputError("per_oscillator=True contradicts truncation_check=False")
    handle = ctypes.c_void_p()
    err = _lib.Err()
    _lib.check(lib.qs_analysis_run(model._ptr, ctypes.byref(o), ctypes.byref(handle), ctypes.byref(err)), err,
               model.source)
    result = Result(_lib.Handle(handle, lib.qs_analysis_free, "qsync.Result"), o.s_tol)
    for w in result.warnings:
        warnings.warn(TruncationWarning(w), stacklevel=3)
    return result


steady.__doc__ = f"""Solve for the steady state of the master equation (Eq. 4) and compute every
observable; returns a qsync.Result. As `qsync steady MODEL --json`, number for number.

    r = m.steady()                       # defaults as the command line
    r = m.steady(solver="iterative", memory_limit="2G", truncation_check=True)
    r.S["1", "2"], r.mean_n["1"], r.rho_pair("1", "2")

The truncation is the model's (m.set("levels", 10), m.set("1.levels", "auto")). Levels set to "auto" are chosen so that the estimated truncation error of S is below s_tol.
The truncation error of S is estimated (one extra solve with one more level per oscillator)
when that solve has at most {_lib.QS_CONVERGENCE_AUTO_MAX} unknowns; a result above s_tol
issues a qsync.TruncationWarning (also in r.warnings, r.status "truncation").

Keywords (all optional):
{_options.STEADY_KEYWORDS}
    truncation_check    None (default: by cost), True (always), False (never)
    per_oscillator      estimate the truncation error by one extra solve per oscillator
    dynamics            None (default: peak_frequency, fwhm, relaxation_rate, coherence_rate when
                        sector 0 has at most {_lib.QS_DYNAMICS_AUTO_MAX} unknowns), True (always), False (never)

Observables (attributes of the result; qsync.observables() lists them):
{{obs}}

Raises qsync.InputError (bad option, model that cannot be solved), qsync.MemoryRefused (the
plan exceeds memory_limit or the memory available), qsync.NumericalError (the solve failed
its checks), each with the library's message.
"""
