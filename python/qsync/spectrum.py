"""Power spectra, spectral lines and decay rates of a model (Model.spectrum, MODEL.md §8)."""
import ctypes
import math
import numbers
import warnings

import numpy as np

from . import _lib, _options
from ._errors import InputError, SpectrumWarning
from ._lib import lib
from ._values import OscillatorValues


class Spectrum:
    """The power spectrum S_j(ω) = 2 Re Tr[a_j† (iω − L)^−1 (a_j ρ_ss)] of every oscillator
    (QuTiP's spectrum(H, w, c_ops, a†, a) convention: a free oscillator ω a†a peaks at +ω), as
    `qsync spectrum MODEL --json` gives it, number for number.

    omega           the grid (NumPy array)
    spectrum        {name: NumPy array of S_j at every ω}; frame() gives one DataFrame
    peak_frequency  per oscillator: the ω of the global maximum of S_j, refined between grid points
    peak_height     per oscillator: S_j there
    fwhm            per oscillator: that peak's full width at half its height (NaN when the half
                    height is not reached inside the grid)
    sum_rule        per oscillator: ∫ S_j dω/2π over the grid's range (→ ⟨n_j⟩ over the whole line)
    mean_n          per oscillator: ⟨n_j⟩ of the steady state
    warnings        {name: [notes]}: what to distrust in the peak, width and sum rule (S_j ≡ 0, the
                    peak at a grid end, a line the grid or doubles do not resolve, a sum rule off
                    ⟨n_j⟩ by over 5 %), as the command's JSON `warnings`; [] when nothing;
                    each note is also issued as a qsync.SpectrumWarning
    residual        the largest relative residual of the solves
    sector_dimension  unknowns of sector −1, where the spectra are solved
    lines           with lines=True: a DataFrame, one row per eigenvalue λ_m of L on sector −1,
                    ordered by frequency: frequency (Im λ_m), half_width (−Re λ_m) and
                    weight_<name> (complex w_jm: S_j(ω) = Σ_m 2 Re[w_jm / (iω − λ_m)]); else None
    lines_method    how the lines were found ("dense", "arpack"; None without)
    """

    def __init__(self, handle, names, with_lines):
        s = handle.ptr
        n, N = lib.qs_spectrum_size(s), lib.qs_spectrum_points(s)
        self.names = list(names)
        self.omega = np.ctypeslib.as_array(lib.qs_spectrum_omega(s), shape=(N,)).copy()
        self.spectrum = {name: np.ctypeslib.as_array(lib.qs_spectrum_values(s, j), shape=(N,)).copy()
                         for j, name in enumerate(self.names)}

        def per(f):
            return OscillatorValues(f.__name__[len("qs_spectrum_"):], self.names, [f(s, j) for j in range(n)])

        self.peak_frequency = per(lib.qs_spectrum_peak_frequency)
        self.peak_height = per(lib.qs_spectrum_peak_height)
        self.fwhm = per(lib.qs_spectrum_fwhm)
        self.sum_rule = per(lib.qs_spectrum_sum_rule)
        self.mean_n = per(lib.qs_spectrum_mean_n)
        self.warnings = {name: [w for w in lib.qs_spectrum_warning(s, j).decode().split("\n") if w]
                         for j, name in enumerate(self.names)}
        self.residual = lib.qs_spectrum_residual(s)
        self.sector_dimension = int(lib.qs_spectrum_sector_dimension(s))
        self.lines_method = lib.qs_spectrum_lines_method(s).decode() or None
        self.lines = self._lines(s, n) if with_lines else None

    def _lines(self, s, n):
        import pandas as pd
        count = lib.qs_spectrum_line_count(s)
        freq, half = np.zeros(count), np.zeros(count)
        weights = np.zeros((count, n), dtype=np.complex128)
        f, h = ctypes.c_double(), ctypes.c_double()
        for m in range(count):
            row = (_lib.c_complex * max(n, 1))()
            status = lib.qs_spectrum_line(s, m, ctypes.byref(f), ctypes.byref(h), row)
            if status < 0:
                raise InputError(f"spectral line {m}: {_lib.status_string(status)}")
            freq[m], half[m] = f.value, h.value
            weights[m] = [complex(row[j][0], row[j][1]) for j in range(n)]
        cols = {"frequency": freq, "half_width": half}
        for j, name in enumerate(self.names):
            cols[f"weight_{name}"] = weights[:, j]
        return pd.DataFrame(cols)

    def frame(self):
        """The spectra as one DataFrame: omega, then spectrum_<name> for every oscillator (the
        columns of spectra.csv after the axes)."""
        import pandas as pd
        cols = {"omega": self.omega}
        for name in self.names:
            cols[f"spectrum_{name}"] = self.spectrum[name]
        return pd.DataFrame(cols)

    def __repr__(self):
        peaks = ", ".join(f"{name}: {self.peak_frequency[name]:.6g}" for name in self.names[:6])
        return (f"<qsync.Spectrum {len(self.omega)} frequencies from {self.omega[0]:g} to {self.omega[-1]:g}; "
                f"peak_frequency {peaks}{' ...' if len(self.names) > 6 else ''}>")


def omega_grid(omega, what="omega"):
    """(A, B, N) checked: finite A < B and a whole N ≥ 2; InputError naming `what` otherwise."""
    try:
        a, b, count = omega
    except (TypeError, ValueError):
        raise InputError(f"{what}: None (the default range) or (A, B, N): N frequencies from A to B, not {omega!r}") from None
    for x in (a, b):
        if isinstance(x, bool) or not isinstance(x, numbers.Real) or not math.isfinite(x):
            raise InputError(f"{what}: A and B must be finite real numbers, not {x!r}")
    if not a < b:
        raise InputError(f"{what}: A must be below B, not {a!r} >= {b!r}")
    if isinstance(count, bool) or not isinstance(count, numbers.Integral) or not 2 <= count <= _lib.QS_SPECTRUM_MAX_POINTS:
        raise InputError(f"{what}: N must be a whole number from 2 to {_lib.QS_SPECTRUM_MAX_POINTS}, not {count!r}")
    return float(a), float(b), int(count)


def spectrum(model, omega=None, lines=False, **kw):
    """The power spectrum of every oscillator in the model's steady state; a qsync.Spectrum.

        sp = m.spectrum()                          # the default range, 2001 points
        sp = m.spectrum(omega=(-40, 40, 801), lines=True)
        sp.omega, sp.spectrum["1"], sp.peak_frequency["1"], sp.fwhm["1"], sp.lines

    omega: None (a range covering every line of every oscillator, QS_SPECTRUM_DEFAULT_POINTS
    points) or (A, B, N): N equally spaced frequencies from A to B inclusive. lines=True also
    finds the spectral lines (eigenvalues of L on sector −1 and their weights). threads:
    frequencies solved at once (default: all cores). The steady state is solved with the
    solver keywords of Model.steady (no truncation estimate). Raises qsync.NumericalError when
    iω − L is singular on sector −1 (a coherence that never decays, e.g. gamma = 0).
    """
    o = _lib.AnalysisOptions()
    lib.qs_analysis_defaults(ctypes.byref(o))
    o.steady, o.guess_tail, o.s_tol = _options.steady_options(kw)
    o.truncation = _lib.QS_TRUNCATION[False]
    o.dynamics = _lib.QS_DYNAMICS[False]
    so = _lib.SpectrumOptions()
    lib.qs_spectrum_defaults(ctypes.byref(so))
    so.threads = _options.threads(kw.pop("threads", None))
    _options.no_more(kw, "spectrum")
    if omega is not None:
        so.omega_min, so.omega_max, so.n_omega = omega_grid(omega)
    so.lines = 1 if _options.flag("lines", lines) else 0
    err = _lib.Err()
    handle = ctypes.c_void_p()
    _lib.check(lib.qs_analysis_run(model._ptr, ctypes.byref(o), ctypes.byref(handle), ctypes.byref(err)), err,
               model.source)
    analysis = _lib.Handle(handle, lib.qs_analysis_free, "qsync analysis")
    a = analysis.ptr
    sp = ctypes.c_void_p()
    _lib.check(lib.qs_spectrum_run(lib.qs_analysis_model(a), lib.qs_analysis_state(a), ctypes.byref(so),
                                   ctypes.byref(sp), ctypes.byref(err)), err, model.source)
    owner = _lib.Handle(sp, lib.qs_spectrum_free, "qsync.Spectrum")
    try:
        result = Spectrum(owner, model.names, so.lines)
        for name, notes in result.warnings.items():
            for note in notes:
                warnings.warn(f"{model.source}: oscillator {name}: {note}", SpectrumWarning, stacklevel=3)
        return result
    finally:
        owner.close()
        analysis.close()
