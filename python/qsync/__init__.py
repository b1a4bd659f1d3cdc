"""qsync: quantum synchronization of Kerr self-oscillators (Lörch et al., PRL 2017), from Python.

The package calls the qsync C library (libqsync.so.0) through ctypes: the numbers are the
command line's, bit for bit, and sweeps run in C on all cores with the GIL released.

    import qsync, numpy as np
    m = qsync.Model.load("examples/fig2b.ini")
    m.set("1.omega", 0.0)                      # parameter paths as --set
    r = m.steady()                             # a qsync.Result
    r.S["1", "2"], r.mean_n["1"], r.negativity["1", "2"], r.rho_pair("1", "2")
    df = m.sweep(vary={"1.omega": np.linspace(-40, 40, 161)}, observe=["S", "negativity"])
    c = m.classical(trajectories=4096, seed=3)
    sp = m.spectrum(omega=(-40, 40, 801))      # power spectra S_j(omega), peaks, widths, lines
    q = m.evolve(time=20, samples=201)         # the quench: t, S_<a>-<b>, mean_n_<j>

Errors raise qsync.Error subclasses carrying the library's message: InputError (also a
ValueError), NumericalError, MemoryRefused (also a MemoryError), IOError. A result whose
truncation deserves attention issues a qsync.TruncationWarning, a sweep with failed points a
qsync.FailedPointsWarning, a spectrum with notes a qsync.SpectrumWarning.
"""
from ._errors import (Error, FailedPointsWarning, InputError, IOError, MemoryRefused, NumericalError, SpectrumWarning,
                      TruncationWarning)
from ._lib import lib as _clib
from .model import Model
from .steady import Result, observables
from .classical import ClassicalResult
from .spectrum import Spectrum
from .sweep import Range
from . import steady as _steady, sweep as _sweep, classical as _classical, spectrum as _spectrum, evolve as _evolve

__all__ = ["Model", "Result", "ClassicalResult", "Spectrum", "Range", "observables", "Error", "InputError", "NumericalError",
           "MemoryRefused", "IOError", "TruncationWarning", "FailedPointsWarning", "SpectrumWarning", "library_path"]

__version__ = "0.1.0"

#: The path of the loaded C library.
library_path = _clib._name

_steady.steady.__doc__ = _steady.steady.__doc__.replace("{obs}", _steady.observables_doc())
Model.steady.__doc__ = _steady.steady.__doc__
Model.sweep.__doc__ = _sweep.sweep.__doc__
Model.classical.__doc__ = _classical.classical.__doc__
Model.spectrum.__doc__ = _spectrum.spectrum.__doc__
Model.evolve.__doc__ = _evolve.evolve.__doc__
