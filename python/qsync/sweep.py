"""Observables over a grid of parameters (Model.sweep), computed by the library on all cores."""
import ctypes
import numbers
import threading
import warnings

import numpy as np

from . import _lib, _options
from ._errors import FailedPointsWarning, InputError
from ._lib import lib
from .steady import observable_index

def status_word(code):
    """The word of sweep.csv's status column for a point's status (the library's)."""
    return lib.qs_sweep_status_word(int(code)).decode()


class _OpenBLASOneThread:
    """OpenBLAS (loaded with the library) at one thread while any sweep runs, its count
    restored after the last: the sweep's threads each factorise their own small systems, and
    OpenBLAS threads inside them would only compete for the cores. Sweeps running at once
    (from several Python threads) share one saved count: the first to enter saves it and sets
    1, the last to leave restores it."""

    _lock = threading.Lock()
    _active = 0
    _saved = None

    @staticmethod
    def _functions():
        get = getattr(lib, "openblas_get_num_threads", None)
        set_ = getattr(lib, "openblas_set_num_threads", None)
        if get is None or set_ is None:
            return None, None
        get.restype, get.argtypes = ctypes.c_int, []
        set_.restype, set_.argtypes = None, [ctypes.c_int]
        return get, set_

    def __enter__(self):
        cls = _OpenBLASOneThread
        with cls._lock:
            if cls._active == 0:
                get, set_ = cls._functions()
                cls._saved = None
                if get is not None:
                    cls._saved = get()
                    set_(1)
            cls._active += 1
        return self

    def __exit__(self, *exc):
        cls = _OpenBLASOneThread
        with cls._lock:
            cls._active -= 1
            if cls._active == 0 and cls._saved is not None:
                cls._functions()[1](cls._saved)
                cls._saved = None
        return False


class Range:
    """An axis from start to stop in count equally spaced points, computed by the library as
    `qsync sweep --vary PATH=START:STOP:COUNT` computes it (so the values, and every number of
    the sweep, are the command line's bit for bit; np.linspace may differ in the last bit).
    start and stop may be complex on a coupling path."""

    def __init__(self, start, stop, count):
        if isinstance(count, bool) or not isinstance(count, numbers.Integral) or not 1 <= count <= _lib.QS_SWEEP_MAX_POINTS:
            raise InputError(f"Range: count must be a whole number from 1 to {_lib.QS_SWEEP_MAX_POINTS}, not {count!r}")
        for x in (start, stop):
            if isinstance(x, bool) or not isinstance(x, numbers.Complex) or not np.isfinite(complex(x)):
                raise InputError(f"Range: start and stop must be finite numbers, not {x!r}")
        self.start, self.stop, self.count = start, stop, int(count)

    def __repr__(self):
        return f"qsync.Range({self.start!r}, {self.stop!r}, {self.count})"


def _axis_values(path, values):
    v = np.asarray(values)
    if v.ndim == 0:
        v = v.reshape(1)
    if v.ndim != 1 or v.size == 0:
        raise InputError(f"vary {path}: expected a one-dimensional list of values, not shape {v.shape}")
    if v.size > _lib.QS_SWEEP_MAX_POINTS:
        raise InputError(f"vary {path}: {v.size} values, more than {_lib.QS_SWEEP_MAX_POINTS}")
    if v.dtype.kind not in "iufc":
        raise InputError(f"vary {path}: the values must be numbers (complex on couplings), not {v.dtype}")
    c = v.astype(np.complex128)
    if not np.all(np.isfinite(c)):
        raise InputError(f"vary {path}: every value must be finite")
    out = (_lib.c_complex * v.size)()
    flat = np.ascontiguousarray(c).view(np.float64)
    ctypes.memmove(out, flat.ctypes.data, flat.nbytes)
    return out


class _Run:
    """Everything the C side reads during the sweep, kept alive by one object."""

    def __init__(self, model, vary, ties, observe, spectrum, kw):
        if not isinstance(vary, dict) or not vary:
            raise InputError("vary: a dict of path (or tuple of paths moved together) -> values, e.g. "
                             "{'1.omega': np.linspace(-40, 40, 161)}")
        self.keep = []
        self.axes = (_lib.Axis * len(vary))()
        self.axis_names = []
        for i, (paths, values) in enumerate(vary.items()):
            paths = (paths,) if isinstance(paths, str) else tuple(paths)
            if not paths or not all(isinstance(p, str) and p for p in paths):
                raise InputError(f"vary {paths!r}: a parameter path such as '1.omega', or a tuple of them")
            arr = (ctypes.c_char_p * len(paths))(*[_lib.text(p, f"vary path {p!r}") for p in paths])
            self.keep.append(arr)
            self.axes[i].n_paths = len(paths)
            self.axes[i].paths = arr
            if isinstance(values, Range):
                for field, z in (("start", complex(values.start)), ("stop", complex(values.stop))):
                    getattr(self.axes[i], field)[0], getattr(self.axes[i], field)[1] = z.real, z.imag
                self.axes[i].count = values.count
            else:
                vals = _axis_values(",".join(paths), values)
                self.keep.append(vals)
                self.axes[i].count = len(vals)
                self.axes[i].values = vals
            self.axis_names.append(paths[0])
        ties = ties or {}
        self.ties = (_lib.Tie * max(len(ties), 1))()
        for i, (path, expr) in enumerate(ties.items()):
            if not isinstance(path, str) or not isinstance(expr, str):
                raise InputError(f"ties {path!r}: {expr!r}: a path and an expression, both strings, e.g. "
                                 "{'K': '1/sigma'}")
            p, e = _lib.text(path, f"ties path {path!r}"), _lib.text(expr, f"ties[{path!r}]")
            self.keep += [p, e]
            self.ties[i].path, self.ties[i].expression = p, e
        self.n_ties = len(ties)

        o = _lib.SweepOptions()
        lib.qs_sweep_defaults(ctypes.byref(o))
        steady, tail_tol, s_tol = _options.steady_options(kw)
        o.steady, o.tail_tol, o.s_tol = steady, tail_tol, s_tol
        check = kw.pop("truncation_check", None)
        table = {None: "sampled", True: "on", False: "off", "every_point": "auto"}
        if not (check is None or isinstance(check, str)):
            try:
                check = _options.flag("truncation_check", check)
            except InputError:
                pass
        if not isinstance(check, (type(None), bool, str)) or check not in table:
            raise InputError(f"truncation_check: None (sampled), True (every point), 'every_point' (every point "
                             f"where affordable) or False, not {check!r}")
        o.truncation = _lib.QS_SWEEP_TRUNCATION[table[check]]
        o.threads = _options.threads(kw.pop("threads", None))
        block = kw.pop("block", None)
        if block is not None:
            if isinstance(block, bool) or not isinstance(block, numbers.Integral) or not 1 <= block <= 1 << 20:
                raise InputError(f"block needs a whole number of points from 1 to {1 << 20}, not {block!r}")
            o.block = int(block)
        if observe is None:
            observe = ["S", "phi_max"]
        if isinstance(observe, str):
            observe = [observe]
        idx = [observable_index(name) for name in observe]
        if not idx:
            raise InputError("observe: name at least one observable")
        self.observe = (ctypes.c_int * len(idx))(*idx)
        o.n_observe, o.observe = len(idx), ctypes.cast(self.observe, _lib.c_int_p)
        if spectrum is not None:
            from .spectrum import omega_grid
            o.spectrum_min, o.spectrum_max, o.spectrum_points = omega_grid(spectrum, "spectrum")
        self.stop = ctypes.c_int(0)
        o.stop = ctypes.pointer(self.stop)
        self.options = o
        self.model = model
        self.sweep = ctypes.c_void_p()
        self.store = ctypes.c_void_p()
        self.status = 0
        self.err = _lib.Err()
        self.exception = None
        self.done = threading.Event()     # set by the worker when it no longer touches the sweep

    def work(self):
        """In the worker thread: every call into the library, the GIL released throughout."""
        try:
            self._work()
        finally:
            self.done.set()

    def _work(self):
        try:
            e = ctypes.byref(self.err)
            self.status = lib.qs_sweep_create(self.model._ptr, len(self.axes), self.axes, self.n_ties, self.ties,
                                              ctypes.byref(self.options), ctypes.byref(self.sweep), e)
            if self.status == _lib.QS_OK:
                self.status = lib.qs_sweep_store_create(self.sweep, ctypes.byref(self.store), e)
            if self.status == _lib.QS_OK and not self.stop.value:
                add = ctypes.cast(lib.qs_sweep_store_add, ctypes.c_void_p)
                self.status = lib.qs_sweep_run(self.sweep, None, add, self.store, ctypes.byref(self.stop), e)
        except BaseException as x:  # a failure of ctypes itself: re-raised in the caller's thread
            self.exception = x

    def status_codes(self):
        """The library's status of every point (negative: failed, its values NaN)."""
        size = lib.qs_sweep_size(self.sweep)
        return np.ctypeslib.as_array(lib.qs_sweep_store_status(self.store), shape=(size,))

    def frame(self):
        import pandas as pd
        size = lib.qs_sweep_size(self.sweep)
        cols = {}
        status = self.status_codes()
        for c in range(lib.qs_sweep_store_columns(self.store)):
            name = lib.qs_sweep_store_name(self.store, c).decode()
            if name == "status":
                words = {int(code): status_word(code) for code in np.unique(status)}
                cols[name] = [words[int(code)] for code in status]
            else:
                cols[name] = np.ctypeslib.as_array(lib.qs_sweep_store_column(self.store, c), shape=(size,)).copy()
        frame = pd.DataFrame(cols)
        if self.options.spectrum_points > 0:
            frame.attrs["spectra"] = self.spectra(frame)
        return frame

    def spectra(self, frame):
        """spectra.csv's table: the axis columns, omega, spectrum_<name>; one row per point and ω."""
        import pandas as pd
        N, size = self.options.spectrum_points, lib.qs_sweep_size(self.sweep)
        names = self.model.names
        omega = np.array([lib.qs_sweep_spectrum_omega(self.sweep, k) for k in range(N)])
        values = np.empty((size, len(names), N))
        for p in range(size):
            values[p] = np.ctypeslib.as_array(lib.qs_sweep_store_spectrum(self.store, p), shape=(len(names), N))
        cols = {}
        for c in range(lib.qs_sweep_store_columns(self.store)):
            name = lib.qs_sweep_store_name(self.store, c).decode()
            if name in self.axis_names or any(name == a + "_im" for a in self.axis_names):
                cols[name] = np.repeat(frame[name].to_numpy(), N)
        cols["omega"] = np.tile(omega, size)
        for j, name in enumerate(names):
            cols[f"spectrum_{name}"] = values[:, j, :].reshape(-1)
        return pd.DataFrame(cols)

    def free(self):
        if self.store.value:
            lib.qs_sweep_store_free(ctypes.byref(self.store))
        if self.sweep.value:
            lib.qs_sweep_free(ctypes.byref(self.sweep))


def _wait(done):
    """Wait for the worker in short steps, so that the main thread sees Ctrl-C. (Thread.join
    is not used for this: a join interrupted by KeyboardInterrupt can leave is_alive() False
    while the thread still runs.)"""
    while not done.wait(0.05):
        pass


def sweep(model, vary, ties=None, observe=None, spectrum=None, **kw):
    run = _Run(model, vary, ties, observe, spectrum, kw)
    _options.no_more(kw, "sweep")
    worker = threading.Thread(target=run.work, name="qsync-sweep", daemon=True)
    started = False
    try:
        with _OpenBLASOneThread():
            worker.start()
            started = True
            try:
                _wait(run.done)
            except KeyboardInterrupt:
                run.stop.value = 1          # no new block starts; the ones in flight finish
                while True:                 # a second Ctrl-C does not leave the library running
                    try:
                        _wait(run.done)
                        break
                    except KeyboardInterrupt:
                        pass
                raise
        if run.exception is not None:
            raise run.exception
        _lib.check(run.status, run.err, model.source)
        frame = run.frame()
        failed = run.status_codes() < 0
        if failed.any():
            counts = frame["status"][failed].value_counts()
            warnings.warn(f"{model.source}: {int(failed.sum())} of {len(frame)} points failed ("
                          + ", ".join(f"{k} {w}" for w, k in counts.items()) + "): their values are NaN",
                          FailedPointsWarning, stacklevel=3)
        return frame
    finally:
        if not started or run.done.is_set():
            run.free()
        if started and run.done.is_set():
            worker.join()                   # the thread itself ends right after


sweep.__doc__ = f"""Observables over a grid of parameters, solved by the library on all cores (the
interpreter stays free: the sweep runs in a thread of its own with the GIL released);
returns a pandas DataFrame, one row per grid point (first axis slowest), with the columns of
`qsync sweep --observe ...`'s sweep.csv: one per axis (its first path; a complex axis gives
NAME and NAME_im), the observables (NAME_<a>-<b>, NAME_<j>, populations_<j>_<n>), and the
diagnostics (residual, top_population, status as words: ok, truncation, top-level,
numerical, memory, input; truncation_error).

    df = m.sweep(vary={{"1.omega": np.linspace(-40, 40, 161)}}, observe=["S", "negativity"])
    df = m.sweep(vary={{("1.omega", "2.omega"): [0, 10, 20], "1-2": qsync.Range(0, 0.5, 11)}},
                 ties={{"K": "1/sigma"}})

A point that fails (its solve refused for memory, or numerically) holds NaN and its status
word; the sweep goes on, and a qsync.FailedPointsWarning counts the failed points at the end. The library's messages are raised for what stops the whole sweep
(bad paths, values, ties, observables).

Ctrl-C (KeyboardInterrupt) stops it cleanly: no new block of points starts, the blocks in
flight finish, and KeyboardInterrupt is raised again.

    vary            {{path or (paths moved together): values}}: one axis each, listed values
                    (complex on couplings), or qsync.Range(start, stop, count): the command
                    line's START:STOP:COUNT, bit for bit
    ties            {{path: expression}}: derived parameters at every point, e.g. {{"K": "1/sigma"}},
                    {{"A-B": "0.1*K_A"}}
    observe         observable names (default ["S", "phi_max"]); see qsync.observables(); the
                    dynamical ones (peak_frequency, fwhm, relaxation_rate, coherence_rate) too
    spectrum        (A, B, N): also the power spectrum of every oscillator at every point on N
                    frequencies from A to B, as `qsync sweep --spectrum A:B:N`: the DataFrame's
                    attrs["spectra"] is spectra.csv's table (the axis columns, omega,
                    spectrum_<name>; one row per point and frequency)
    threads         default: all cores
    truncation_check  None (default: sampled every {4}th point along the last axis), True (every
                    point), "every_point" (every point where affordable), False (never)
    block           points per block (default 16)
{_options.STEADY_KEYWORDS}
"""
