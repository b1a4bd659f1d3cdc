"""The shared library libqsync.so.0 through ctypes: where it is found, the C structures
mirrored field by field (include/qsync/*.h), and the prototypes of the functions used.

ctypes releases the GIL for the duration of every call into the library, so a sweep
running in C on all cores leaves the interpreter free.

The library is found, in this order: the environment variable QSYNC_LIBRARY (a path);
the path recorded at build or install time in qsync/_build_config.py (LIBRARY); the
system's search (ctypes.util.find_library("qsync"), then "libqsync.so.0").
"""
import ctypes
import ctypes.util
import os
import re

from ._errors import Error, InputError, raise_for

c_int_p = ctypes.POINTER(ctypes.c_int)
c_double_p = ctypes.POINTER(ctypes.c_double)
c_complex = ctypes.c_double * 2          # C99 double complex: {re, im}, same layout
c_complex_p = ctypes.POINTER(c_complex)

QS_NAME_MAX = 64
QS_LEVELS_AUTO = 0


class Err(ctypes.Structure):
    """qs_error"""
    _fields_ = [("status", ctypes.c_int), ("message", ctypes.c_char * 512)]

    def text(self):
        return self.message.decode("utf-8", "replace")


class Osc(ctypes.Structure):
    """qs_osc"""
    _fields_ = [(k, ctypes.c_double) for k in ("omega", "K", "gamma_plus", "gamma_minus", "sigma_plus",
                                                "sigma_minus", "n_plus", "n_minus", "noise", "gamma_T")] + \
               [("levels", ctypes.c_int)]


class SteadyOptions(ctypes.Structure):
    """qs_steady_options"""
    _fields_ = [("full", ctypes.c_int), ("solver", ctypes.c_int), ("lu", ctypes.c_int), ("symmetry", ctypes.c_int),
                ("perms", c_int_p), ("n_perms", ctypes.c_int),
                ("residual_tol", ctypes.c_double), ("top_tol", ctypes.c_double), ("memory_limit", ctypes.c_double),
                ("iterative_tol", ctypes.c_double), ("restart", ctypes.c_int), ("max_iterations", ctypes.c_int),
                ("warm_start", ctypes.c_int), ("refactor_rcond_ratio", ctypes.c_double),
                ("preconditioner", ctypes.c_int), ("lean", ctypes.c_int), ("reuse_lu", ctypes.c_int)]


class SteadyStats(ctypes.Structure):
    """qs_steady_stats"""
    _fields_ = [("sector_dimension", ctypes.c_size_t), ("liouvillian_dimension", ctypes.c_size_t),
                ("system_dimension", ctypes.c_size_t), ("symmetry_order", ctypes.c_int), ("nnz", ctypes.c_size_t),
                ("lu_nnz", ctypes.c_double), ("memory_planned", ctypes.c_double), ("solver", ctypes.c_int),
                ("solver_reason", ctypes.c_char * 512), ("iterations", ctypes.c_int), ("lu_flops", ctypes.c_double),
                ("lu", ctypes.c_int), ("refactored", ctypes.c_int), ("rcond", ctypes.c_double),
                ("residual", ctypes.c_double), ("trace_error", ctypes.c_double),
                ("hermiticity_error", ctypes.c_double), ("off_sector", ctypes.c_double),
                ("time_assemble", ctypes.c_double), ("time_symbolic", ctypes.c_double),
                ("time_numeric", ctypes.c_double), ("time_solve", ctypes.c_double),
                ("predicted_lu_seconds", ctypes.c_double), ("predicted_iteration_seconds", ctypes.c_double),
                ("predicted_seconds", ctypes.c_double), ("predicted_memory", ctypes.c_double),
                ("trial_iterations", ctypes.c_int), ("preconditioner", ctypes.c_int),
                ("lu_reuse_iterations", ctypes.c_int)]


class ClassicalOptions(ctypes.Structure):
    """qs_classical_options"""
    _fields_ = [("dt", ctypes.c_double), ("burn_in", ctypes.c_double), ("t_measure", ctypes.c_double),
                ("sample_every", ctypes.c_double), ("trajectories", ctypes.c_int), ("replicas", ctypes.c_int),
                ("seed", ctypes.c_ulonglong), ("threads", ctypes.c_int), ("cutoff", ctypes.c_double),
                ("significance", ctypes.c_double), ("hist_bins", ctypes.c_int), ("hist_max", ctypes.c_double)]


class ClassicalPair(ctypes.Structure):
    """qs_classical_pair"""
    _fields_ = [("S", ctypes.c_double), ("S_err", ctypes.c_double), ("phi_max", ctypes.c_double),
                ("harmonics", ctypes.c_int)]


class ClassicalResult(ctypes.Structure):
    """qs_classical_result"""
    _fields_ = [("n", ctypes.c_int), ("pairs", ctypes.c_int), ("pair", ctypes.POINTER(ClassicalPair)),
                ("mean_x", c_double_p), ("hist", c_double_p), ("escaped_fraction", ctypes.c_double),
                ("samples", ctypes.c_double), ("osc_steps", ctypes.c_double), ("seconds", ctypes.c_double)]


class Convergence(ctypes.Structure):
    """qs_convergence"""
    _fields_ = [("n", ctypes.c_int), ("n_pairs", ctypes.c_int)] + \
               [(k, c_double_p) for k in ("S", "phi_max", "S_more", "change", "phi_change", "error", "osc_change",
                                          "factor")] + \
               [("inside", ctypes.c_int), ("max_error", ctypes.c_double), ("max_pair", ctypes.c_int),
                ("per_oscillator", ctypes.c_int), ("solves", ctypes.c_int), ("sector_dimension", ctypes.c_double),
                ("seconds", ctypes.c_double)]


class AnalysisOptions(ctypes.Structure):
    """qs_analysis_options"""
    _fields_ = [("steady", SteadyOptions), ("s_tol", ctypes.c_double), ("guess_tail", ctypes.c_double),
                ("truncation", ctypes.c_int), ("per_oscillator", ctypes.c_int), ("dynamics", ctypes.c_int)]


class Observable(ctypes.Structure):
    """qs_observable"""
    _fields_ = [("name", ctypes.c_char_p), ("kind", ctypes.c_int), ("per_level", ctypes.c_int),
                ("angle", ctypes.c_int), ("summary", ctypes.c_char_p), ("needs_model", ctypes.c_int)]


class Axis(ctypes.Structure):
    """qs_axis"""
    _fields_ = [("n_paths", ctypes.c_int), ("paths", ctypes.POINTER(ctypes.c_char_p)), ("start", c_complex),
                ("stop", c_complex), ("count", ctypes.c_int), ("values", c_complex_p)]


class Tie(ctypes.Structure):
    """qs_tie"""
    _fields_ = [("path", ctypes.c_char_p), ("expression", ctypes.c_char_p)]


class SweepOptions(ctypes.Structure):
    """qs_sweep_options"""
    _fields_ = [("steady", SteadyOptions), ("tail_tol", ctypes.c_double), ("truncation", ctypes.c_int),
                ("s_tol", ctypes.c_double), ("block", ctypes.c_int), ("threads", ctypes.c_int),
                ("perturb", ctypes.c_int), ("classical", ctypes.c_int), ("classical_options", ClassicalOptions),
                ("target_err", ctypes.c_double), ("part", ctypes.c_int), ("parts", ctypes.c_int),
                ("stop", c_int_p), ("n_observe", ctypes.c_int), ("observe", c_int_p),
                ("spectrum_points", ctypes.c_int), ("spectrum_min", ctypes.c_double), ("spectrum_max", ctypes.c_double)]


class SpectrumOptions(ctypes.Structure):
    """qs_spectrum_options"""
    _fields_ = [("omega_min", ctypes.c_double), ("omega_max", ctypes.c_double), ("n_omega", ctypes.c_int),
                ("lines", ctypes.c_int), ("threads", ctypes.c_int), ("memory_limit", ctypes.c_double),
                ("residual_tol", ctypes.c_double), ("dense_max", ctypes.c_int), ("solver", ctypes.c_int),
                ("stop", c_int_p), ("progress", ctypes.c_void_p), ("progress_ctx", ctypes.c_void_p)]


class EvolveOptions(ctypes.Structure):
    """qs_evolve_options"""
    _fields_ = [("method", ctypes.c_int), ("rtol", ctypes.c_double), ("atol", ctypes.c_double),
                ("krylov_dim", ctypes.c_int), ("max_steps", ctypes.c_long),
                ("fock", c_int_p), ("n_which", ctypes.c_int), ("which", c_int_p),
                ("memory_limit", ctypes.c_double), ("stop", c_int_p), ("progress", ctypes.c_void_p),
                ("progress_ctx", ctypes.c_void_p)]


# Constants of the headers.
QS_OK, QS_WARN_TRUNCATION = 0, 1
QS_EINPUT, QS_ENOMEM, QS_ETOOBIG, QS_ENUMERIC, QS_EIO = -1, -2, -3, -4, -5
QS_SOLVER = {"auto": 0, "direct": 1, "iterative": 2}
QS_LU = {"auto": 0, "klu": 1, "umfpack": 2}
QS_PRECOND = {"auto": 0, "block": 1, "uncoupled": 2}
QS_OBS_OSCILLATOR, QS_OBS_PAIR, QS_OBS_NETWORK = 1, 2, 3
QS_EVOLVE_METHOD = {"krylov": 0, "bdf": 1}
QS_DYNAMICS = {None: 0, True: 1, False: -1}     # by cost, always, never
QS_SWEEP_TRUNCATION = {"off": 0, "auto": 1, "on": 2, "sampled": 3}
QS_TRUNCATION = {None: 0, True: 1, False: -1}
QS_CONVERGENCE_AUTO_MAX = 60000
QS_S_TOL_DEFAULT = 5e-3
QS_DYNAMICS_AUTO_MAX = 400
QS_AUTO_GUESS_TAIL = 3e-2
QS_SWEEP_MAX_POINTS = 10000000
QS_SPECTRUM_MAX_POINTS = 1000000             # spectrum.h: the most points of a frequency grid

P = ctypes.c_void_p
PP = ctypes.POINTER(ctypes.c_void_p)
E = ctypes.POINTER(Err)
I, D, S, Z = ctypes.c_int, ctypes.c_double, ctypes.c_size_t, ctypes.c_char_p

# name: (restype, argtypes); a function missing from the library (an older build) is left out.
PROTOTYPES = {
    "qs_status_string": (Z, [I]),
    "qs_model_load": (I, [Z, PP, E]),
    "qs_model_load_string": (I, [Z, Z, PP, E]),
    "qs_model_copy": (P, [P]),
    "qs_model_free": (None, [PP]),
    "qs_model_set": (I, [P, Z, Z, E]),
    "qs_model_size": (I, [P]),
    "qs_model_name": (Z, [P, I]),
    "qs_model_osc": (ctypes.POINTER(Osc), [P, I]),
    "qs_model_find": (I, [P, Z]),
    "qs_model_source": (Z, [P]),
    "qs_model_coupling_count": (I, [P]),
    "qs_model_coupling": (None, [P, I, c_int_p, c_int_p, c_complex_p]),
    "qs_steady_defaults": (None, [ctypes.POINTER(SteadyOptions)]),
    "qs_state_size": (I, [P]),
    "qs_state_levels": (I, [P, I]),
    "qs_analysis_defaults": (None, [ctypes.POINTER(AnalysisOptions)]),
    "qs_analysis_run": (I, [P, ctypes.POINTER(AnalysisOptions), PP, E]),
    "qs_analysis_free": (None, [PP]),
    "qs_analysis_model": (P, [P]),
    "qs_analysis_state": (P, [P]),
    "qs_analysis_stats": (ctypes.POINTER(SteadyStats), [P]),
    "qs_analysis_status": (I, [P]),
    "qs_analysis_values": (c_double_p, [P, ctypes.POINTER(S)]),
    "qs_analysis_min_eigenvalues": (c_double_p, [P]),
    "qs_analysis_c1": (c_double_p, [P]),
    "qs_analysis_top_population": (c_double_p, [P]),
    "qs_analysis_truncation": (ctypes.POINTER(Convergence), [P]),
    "qs_analysis_truncation_reason": (Z, [P]),
    "qs_analysis_truncation_error": (D, [P]),
    "qs_analysis_warning": (Z, [P]),
    "qs_analysis_levels_auto": (I, [P, I]),
    "qs_analysis_auto_rounds": (I, [P]),
    "qs_analysis_dynamics_reason": (Z, [P]),
    "qs_analysis_dynamics_seconds": (D, [P]),
    "qs_spectrum_defaults": (None, [ctypes.POINTER(SpectrumOptions)]),
    "qs_spectrum_run": (I, [P, P, ctypes.POINTER(SpectrumOptions), PP, E]),
    "qs_spectrum_free": (None, [PP]),
    "qs_spectrum_size": (I, [P]),
    "qs_spectrum_points": (I, [P]),
    "qs_spectrum_omega": (c_double_p, [P]),
    "qs_spectrum_values": (c_double_p, [P, I]),
    "qs_spectrum_peak_frequency": (D, [P, I]),
    "qs_spectrum_peak_height": (D, [P, I]),
    "qs_spectrum_fwhm": (D, [P, I]),
    "qs_spectrum_sum_rule": (D, [P, I]),
    "qs_spectrum_mean_n": (D, [P, I]),
    "qs_spectrum_warning": (Z, [P, I]),
    "qs_spectrum_residual": (D, [P]),
    "qs_spectrum_sector_dimension": (S, [P]),
    "qs_spectrum_lines_method": (Z, [P]),
    "qs_spectrum_line_count": (I, [P]),
    "qs_spectrum_line": (I, [P, I, c_double_p, c_double_p, c_complex_p]),
    "qs_relaxation_rates": (I, [P, c_double_p, c_double_p, E]),
    "qs_sweep_spectrum_omega": (D, [P, I]),
    "qs_sweep_store_spectrum": (c_double_p, [P, S]),
    "qs_observable_count": (I, []),
    "qs_observable_get": (ctypes.POINTER(Observable), [I]),
    "qs_observable_find": (I, [Z]),
    "qs_observe_width": (S, [I, c_int_p, I, c_int_p]),
    "qs_state_observe": (I, [P, I, c_int_p, c_double_p, E]),
    "qs_state_dimension": (S, [P]),
    "qs_state_reduced_oscillator": (I, [P, I, c_complex_p, E]),
    "qs_state_reduced_pair": (I, [P, I, I, c_complex_p, E]),
    "qs_state_dense": (I, [P, c_complex_p, E]),
    "qs_state_phase_distribution": (I, [P, I, I, I, I, c_double_p, c_double_p, E]),
    "qs_classical_defaults": (None, [ctypes.POINTER(ClassicalOptions)]),
    "qs_classical_run": (I, [P, ctypes.POINTER(ClassicalOptions), ctypes.POINTER(ClassicalResult), E]),
    "qs_classical_result_free": (None, [ctypes.POINTER(ClassicalResult)]),
    "qs_classical_nu": (D, [ctypes.POINTER(ClassicalResult), I]),
    "qs_classical_nu_err": (D, [ctypes.POINTER(ClassicalResult), I]),
    "qs_classical_beat": (D, [ctypes.POINTER(ClassicalResult), I]),
    "qs_classical_beat_err": (D, [ctypes.POINTER(ClassicalResult), I]),
    "qs_sweep_defaults": (None, [ctypes.POINTER(SweepOptions)]),
    "qs_sweep_create": (I, [P, I, ctypes.POINTER(Axis), I, ctypes.POINTER(Tie), ctypes.POINTER(SweepOptions), PP, E]),
    "qs_sweep_size": (S, [P]),
    "qs_sweep_pairs": (I, [P]),
    "qs_sweep_model": (P, [P]),
    "qs_sweep_run": (I, [P, P, P, P, c_int_p, E]),
    "qs_sweep_free": (None, [PP]),
    "qs_sweep_status_word": (Z, [I]),
    "qs_sweep_store_create": (I, [P, PP, E]),
    "qs_sweep_store_columns": (I, [P]),
    "qs_sweep_store_name": (Z, [P, I]),
    "qs_sweep_store_column": (c_double_p, [P, I]),
    "qs_sweep_store_status": (c_int_p, [P]),
    "qs_sweep_store_done": (ctypes.POINTER(ctypes.c_ubyte), [P]),
    "qs_sweep_store_free": (None, [PP]),
}


def _candidates():
    env = os.environ.get("QSYNC_LIBRARY")
    if env:
        return [env], "QSYNC_LIBRARY=" + env
    found = []
    try:
        from . import _build_config
        found.append(_build_config.LIBRARY)
    except ImportError:
        pass
    system = ctypes.util.find_library("qsync")
    if system:
        found.append(system)
    found.append("libqsync.so.0")
    return found, None


def _load():
    names, forced = _candidates()
    reasons = []
    for name in names:
        try:
            return ctypes.CDLL(name)
        except OSError as e:
            reasons.append(str(e))
            if forced:
                break
    raise ImportError("qsync: cannot load the qsync library (" + "; ".join(reasons) + "); build it with `make` and "
                      "use PYTHONPATH=build/python, install it with `make install`, or set QSYNC_LIBRARY to the path "
                      "of libqsync.so.0")


lib = _load()
for _name, (_res, _args) in PROTOTYPES.items():
    _f = getattr(lib, _name, None)
    if _f is not None:
        _f.restype = _res
        _f.argtypes = _args


def has(name):
    """Whether the loaded library provides the C function `name`."""
    return getattr(lib, name, None) is not None


def need(name):
    """The C function `name`, or an ImportError-like message when the library predates it."""
    f = getattr(lib, name, None)
    if f is None:
        raise NotImplementedError(f"qsync: the loaded library ({lib._name}) has no {name}: rebuild it")
    return f


def checked_text(s, what):
    """s (str, or bytes for file paths) after the checks that text() makes; InputError naming
    `what` for anything a C string cannot carry whole."""
    if isinstance(s, bytes):
        if b"\0" in s:
            raise InputError(f"{what}: {s!r} holds a NUL character (\\x00), which a C string cannot carry")
        return s
    if not isinstance(s, str):
        raise InputError(f"{what}: expected a string, not {type(s).__name__} {s!r}")
    if "\0" in s:
        raise InputError(f"{what}: {s!r} holds a NUL character (\\x00), which a C string cannot carry")
    try:
        s.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InputError(f"{what}: {s!r} is not valid Unicode text ({e.reason} at position {e.start})") from None
    return s


def text(s, what):
    """str → bytes for the C side (UTF-8): the one way text reaches the library. A NUL character
    (which would end the C string early), a lone surrogate (not UTF-8) or a value that is not a
    string raises InputError naming `what`, the argument it came from."""
    s = checked_text(s, what)
    return s if isinstance(s, bytes) else s.encode("utf-8")


# The library's messages name the command line's flags; from Python they are keywords.
_FLAG_WORDS = {"--vary": "vary", "--tie": "ties", "--full": "full=True"}
_FLAGS = re.compile(r"(?<![\w-])(" + "|".join(re.escape(f) for f in _FLAG_WORDS) + r")(?![\w-])")


def python_words(message):
    """A library message with the command line's flags named as the Python keywords."""
    return _FLAGS.sub(lambda m: _FLAG_WORDS[m.group(1)], message)


def check(status, err, context=None, rewrite=None):
    """Raise the exception of a negative status with the library's message (flags worded for
    Python; rewrite(message) applied last when given); return status."""
    if status < 0:
        message = python_words(err.text() or lib.qs_status_string(status).decode())
        if rewrite is not None:
            message = rewrite(message)
        raise_for(status, message, context)
    return status


class Handle:
    """The one owner of a C object: freed once, by this object's __del__ (or close()), however
    many Python objects share it. Copies of an object holding a Handle share it (copy and
    deepcopy give the Handle itself), so no copy can free what another still uses."""

    def __init__(self, ptr, free, what):
        self._ptr = ptr if isinstance(ptr, ctypes.c_void_p) else ctypes.c_void_p(ptr)
        self._free = free
        self._what = what

    @property
    def ptr(self):
        """The pointer; qsync.Error once closed."""
        if not self._ptr.value:
            raise Error(f"this {self._what} has been closed: its C object is freed")
        return self._ptr

    @property
    def closed(self):
        return not self._ptr.value

    def close(self, _byref=ctypes.byref):
        ptr = self.__dict__.get("_ptr")
        if ptr is not None and ptr.value:
            self._free(_byref(ptr))
            ptr.value = None

    __del__ = close

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        raise TypeError(f"a qsync {self._what} cannot be pickled")


def status_string(status):
    return lib.qs_status_string(status).decode()
