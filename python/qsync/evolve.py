"""Quench dynamics of a model (Model.evolve, MODEL.md §8): ρ(t) = e^{Lt} ρ(0) sampled in time."""
import ctypes
import math
import numbers

import numpy as np

from . import _lib
from ._errors import InputError
from ._lib import lib
from .steady import observable_index, observables


_PROTOTYPES = {
    "qs_evolve_defaults": (None, [ctypes.POINTER(_lib.EvolveOptions)]),
    "qs_evolve_run": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_double, ctypes.c_int, ctypes.POINTER(_lib.EvolveOptions),
                                     ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(_lib.Err)]),
    "qs_evolve_free": (None, [ctypes.POINTER(ctypes.c_void_p)]),
    "qs_evolve_model": (ctypes.c_void_p, [ctypes.c_void_p]),
    "qs_evolve_samples": (ctypes.c_int, [ctypes.c_void_p]),
    "qs_evolve_times": (_lib.c_double_p, [ctypes.c_void_p]),
    "qs_evolve_width": (ctypes.c_size_t, [ctypes.c_void_p]),
    "qs_evolve_value": (_lib.c_double_p, [ctypes.c_void_p, ctypes.c_size_t]),
    "qs_evolve_trace_error_max": (ctypes.c_double, [ctypes.c_void_p]),
    "qs_evolve_hermiticity_error_max": (ctypes.c_double, [ctypes.c_void_p]),
    "qs_evolve_min_eigenvalue": (ctypes.c_double, [ctypes.c_void_p]),
    "qs_evolve_total_steps": (ctypes.c_long, [ctypes.c_void_p]),
}
for _name, (_res, _args) in _PROTOTYPES.items():
    _f = getattr(lib, _name, None)
    if _f is not None:
        _f.restype, _f.argtypes = _res, _args


def _column_names(names, levels, which):
    """The columns of the values recorded, in the layout of qs_state_observe (as evolve.csv
    names them): NAME_<a>-<b>, NAME_<j>, populations_<j>_<n>."""
    table = observables()
    pairs = [(names[a], names[b]) for a in range(len(names)) for b in range(a + 1, len(names))]
    cols = []
    for i in which:
        o = table[i]
        if o["kind"] == "pair":
            cols += [f"{o['name']}_{a}-{b}" for a, b in pairs]
        elif o["kind"] == "network":
            cols.append(o["name"])
        elif o["per_level"]:
            cols += [f"{o['name']}_{j}_{n}" for j, L in zip(names, levels) for n in range(L)]
        else:
            cols += [f"{o['name']}_{j}" for j in names]
    return cols


def evolve(model, time, samples, from_="uncoupled", observe=None, method="krylov", rtol=None, atol=None,
           krylov_dim=None, max_steps=None):
    """The quench of MODEL.md §8, as `qsync evolve MODEL --time T --samples N --json` computes it,
    number for number: ρ(0) is the product of each oscillator's uncoupled steady state
    (from_="uncoupled", the default) or a Fock state (from_={name: N} or a list of N_j in file
    order); the couplings act from t = 0; ρ(t) = e^{Lt} ρ(0) is sampled at t_k = k time/(samples − 1),
    by method="krylov" (the default: exponential Krylov steps) or "bdf" (CVODE BDF with the exact
    sparse Jacobian).

    Returns a pandas DataFrame: t, then S_<a>-<b> per pair and mean_n_<j> per oscillator, then the
    observables of `observe` (state observables of qsync.observables(), columns named as in
    sweeps). attrs holds the checks: trace_error_max, hermiticity_error_max, min_eigenvalue
    (the smallest eigenvalue of any pair's reduced state over the run) and steps.

        df = m.evolve(time=20, samples=201)
        df = m.evolve(time=5, samples=51, from_={"1": 2, "2": 3}, observe=["negativity"])

    rtol (BDF), atol, krylov_dim (Krylov, 4..200), max_steps: as --rtol, --atol, --krylov-dim and
    --max-steps of qsync evolve (defaults 1e-10, 1e-12, 30, 1e7). Levels =
    auto are resolved as qsync steady resolves them (not with a Fock state).
    """
    import pandas as pd
    _lib.need("qs_evolve_run")
    for x, what in ((time, "time"),):
        if isinstance(x, bool) or not isinstance(x, numbers.Real) or not (math.isfinite(x) and x > 0):
            raise InputError(f"{what} must be a finite number > 0, not {x!r}")
    if isinstance(samples, bool) or not isinstance(samples, numbers.Integral) or not 2 <= samples <= 10000000:
        raise InputError(f"samples needs a whole number from 2 to 10000000, not {samples!r}")
    names = model.names
    levels = [model.oscillator(j)["levels"] for j in names]
    fock = None
    if isinstance(from_, str):
        if from_ != "uncoupled":
            raise InputError(f"from_: 'uncoupled' or a Fock state ({{name: N}} or a list of N_j), not {from_!r}")
    else:
        values = [from_.get(j, None) for j in names] if isinstance(from_, dict) else list(from_)
        if isinstance(from_, dict) and set(from_) - set(names):
            raise InputError(f"from_: no oscillator named {sorted(set(from_) - set(names))!r} (oscillators: {', '.join(names)})")
        if len(values) != len(names) or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in values):
            raise InputError(f"from_: one whole number per oscillator ({', '.join(names)}), not {from_!r}")
        if 0 in levels:
            raise InputError("from_: give the levels (not levels = auto) with a Fock state")
        fock = (ctypes.c_int * len(values))(*[int(v) for v in values])
    which = [observable_index("S"), observable_index("mean_n")] + \
        [observable_index(o) for o in ([observe] if isinstance(observe, str) else (observe or []))]
    if len(set(which)) != len(which):
        raise InputError("observe: S and mean_n are always recorded; name every other observable once")
    o = _lib.EvolveOptions()
    lib.qs_evolve_defaults(ctypes.byref(o))
    if method not in _lib.QS_EVOLVE_METHOD:
        raise InputError(f"method: 'krylov' or 'bdf', not {method!r}")
    o.method = _lib.QS_EVOLVE_METHOD[method]
    if krylov_dim is not None:
        if isinstance(krylov_dim, bool) or not isinstance(krylov_dim, numbers.Integral) or not 4 <= krylov_dim <= 200:
            raise InputError(f"krylov_dim needs a whole number from 4 to 200, not {krylov_dim!r}")
        o.krylov_dim = int(krylov_dim)
    for key, value in (("rtol", rtol), ("atol", atol)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
                raise InputError(f"{key} must lie in (0, 1), not {value!r}")
            setattr(o, key, float(value))
    if max_steps is not None:
        if isinstance(max_steps, bool) or not isinstance(max_steps, numbers.Integral) or max_steps < 1:
            raise InputError(f"max_steps needs a whole number >= 1, not {max_steps!r}")
        o.max_steps = int(max_steps)
    which_c = (ctypes.c_int * len(which))(*which)
    o.which, o.n_which = ctypes.cast(which_c, _lib.c_int_p), len(which)
    if fock is not None:
        o.fock = ctypes.cast(fock, _lib.c_int_p)
    err = _lib.Err()
    target = model
    analysis = None
    if 0 in levels:                      # levels = auto: resolved as qsync steady resolves them
        a = _lib.AnalysisOptions()
        lib.qs_analysis_defaults(ctypes.byref(a))
        h = ctypes.c_void_p()
        _lib.check(lib.qs_analysis_run(model._ptr, ctypes.byref(a), ctypes.byref(h), ctypes.byref(err)), err, model.source)
        analysis = _lib.Handle(h, lib.qs_analysis_free, "qsync analysis")
        target_ptr = lib.qs_analysis_model(analysis.ptr)
    else:
        target_ptr = target._ptr
    handle = ctypes.c_void_p()
    try:
        _lib.check(lib.qs_evolve_run(target_ptr, float(time), int(samples), ctypes.byref(o), ctypes.byref(handle),
                                     ctypes.byref(err)), err, model.source)
        e = _lib.Handle(handle, lib.qs_evolve_free, "qsync evolve")
        m = lib.qs_evolve_model(e.ptr)
        lv = [lib.qs_model_osc(m, j).contents.levels for j in range(len(names))]
        N = lib.qs_evolve_samples(e.ptr)
        cols = {"t": np.ctypeslib.as_array(lib.qs_evolve_times(e.ptr), shape=(N,)).copy()}
        for v, name in enumerate(_column_names(names, lv, which)):
            cols[name] = np.ctypeslib.as_array(lib.qs_evolve_value(e.ptr, v), shape=(N,)).copy()
        df = pd.DataFrame(cols)
        df.attrs.update(trace_error_max=lib.qs_evolve_trace_error_max(e.ptr),
                        hermiticity_error_max=lib.qs_evolve_hermiticity_error_max(e.ptr),
                        min_eigenvalue=lib.qs_evolve_min_eigenvalue(e.ptr), steps=lib.qs_evolve_total_steps(e.ptr))
        e.close()
        return df
    finally:
        if analysis is not None:
            analysis.close()
