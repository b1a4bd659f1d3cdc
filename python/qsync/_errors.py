"""Exceptions and warnings of the qsync package, one class per status of the library
(include/qsync/error.h). Each carries the library's message and its status code."""


class Error(Exception):
    """Base of every error qsync raises; `status` is the library's code (QS_E*), str() its message."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class InputError(Error, ValueError):
    """Bad input (QS_EINPUT): a model, parameter path, value or option the library refuses."""


class NumericalError(Error):
    """The solver failed or its result did not pass the checks (QS_ENUMERIC)."""


class MemoryRefused(Error, MemoryError):
    """Refused for lack of memory: the planned memory exceeds the limit (QS_ETOOBIG) or an
    allocation failed (QS_ENOMEM)."""


class IOError(Error, OSError):  # noqa: A001 (the library's class of error, under the package's name)
    """A file could not be read or written (QS_EIO)."""


class TruncationWarning(UserWarning):
    """The result is usable but the Fock truncation deserves attention: the estimated truncation
    error of S exceeds s_tol, cannot be estimated, or (without an estimate) a top level holds
    more population than top_tol."""


class FailedPointsWarning(RuntimeWarning):
    """Points of a sweep failed (numerically, refused for memory, or by their input): their
    values are NaN and their status column says why; the other points are usable."""


class SpectrumWarning(UserWarning):
    """A spectrum's peak, width or sum rule deserves distrust (the notes of Spectrum.warnings:
    S_j identically 0, a peak at a grid end, a line the grid does not resolve, a sum rule off)."""


_CLASSES = {-1: InputError, -2: MemoryRefused, -3: MemoryRefused, -4: NumericalError, -5: IOError}


def raise_for(status, message, context=None):
    cls = _CLASSES.get(status, Error)
    if context:
        message = f"{context}: {message}"
    raise cls(message, status)


for _cls in (Error, InputError, NumericalError, MemoryRefused, IOError, TruncationWarning):
    _cls.__module__ = "qsync"
