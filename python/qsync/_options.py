"""Solver keywords shared by steady() and sweep(): checked as the command line checks its
flags, then written into qs_steady_options."""
import ctypes
import numbers
import re

import numpy as np

from . import _lib
from ._errors import InputError
from ._lib import lib

STEADY_KEYWORDS = """\
    full            solve the whole Liouvillian instead of the zero excitation-difference sector (--full)
    solver          "auto" (default), "direct" (sparse LU) or "iterative" (preconditioned GMRES)
    lu              "auto" (default), "klu" or "umfpack"
    symmetry        True (default): reduce by the permutations of identical oscillators
    residual_tol    relative residual above which the solve fails (default 1e-8)
    top_tol         top-level population that warns when S's truncation error is not estimated (default 1e-3)
    memory_limit    bytes the solve may plan to use, a number or text such as "500M" (default: available memory)
    iterative_tol   GMRES stops at this relative residual (default 1e-12)
    restart         GMRES restart length (default 40)
    preconditioner  GMRES: "auto" (default), "block" (exact per-excitation blocks, for strong
                    coupling; the whole sector) or "uncoupled" (the uncoupled Liouvillian)
    warm_start      a sweep's point starts from the previous point: GMRES from its state, and with UMFPACK
                    GMRES by its factorisation (default True); False: every point afresh (--cold-start)
    tail_tol        levels = auto: the starting guess leaves an uncoupled tail below this (default 3e-2)
    s_tol           tolerance on the estimated truncation error of S (default 5e-3)"""

_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([kKmMgGtT]?)(i?[bB])?\s*$")


def _real(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{name}: expected a number, not {value!r}")
    return float(value)


def flag(name, value):
    """A yes/no keyword: True or False (or 1 or 0); anything else (e.g. "no", "off", None)
    raises InputError rather than being read by its truth."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral) and value in (0, 1):
        return bool(value)
    raise InputError(f"{name}: expected True or False, not {value!r}")


def _bytes(value):
    if isinstance(value, str):
        m = _SIZE.match(value)
        if not m:
            raise InputError(f"memory_limit: {value!r} is not a size such as 500M, 2G or 1e9")
        x = float(m.group(1)) * {"": 1, "k": 2 ** 10, "m": 2 ** 20, "g": 2 ** 30, "t": 2 ** 40}[m.group(2).lower()]
    else:
        x = _real("memory_limit", value)
    if not (x > 0) or x == float("inf"):
        raise InputError(f"memory_limit must be a positive size in bytes, not {value!r}")
    return x


def _choice(name, value, table):
    if value not in table:
        raise InputError(f"{name}: {value!r} is not one of {', '.join(repr(k) for k in table)}")
    return table[value]


def steady_options(kw):
    """Pop the solver keywords from kw into a new qs_steady_options; tail_tol and s_tol are
    returned beside it."""
    o = _lib.SteadyOptions()
    lib.qs_steady_defaults(ctypes.byref(o))
    if flag("full", kw.pop("full", False)):
        o.full = 1
    if "solver" in kw:
        o.solver = _choice("solver", kw.pop("solver"), _lib.QS_SOLVER)
    if "lu" in kw:
        o.lu = _choice("lu", kw.pop("lu"), _lib.QS_LU)
    if "preconditioner" in kw:
        o.preconditioner = _choice("preconditioner", kw.pop("preconditioner"), _lib.QS_PRECOND)
    if "symmetry" in kw:
        o.symmetry = 1 if flag("symmetry", kw.pop("symmetry")) else 0
    if "warm_start" in kw:
        o.warm_start = o.reuse_lu = 1 if flag("warm_start", kw.pop("warm_start")) else 0
    if "residual_tol" in kw:
        o.residual_tol = _real("residual_tol", kw.pop("residual_tol"))
        if not o.residual_tol > 0:
            raise InputError(f"residual_tol must be > 0, not {o.residual_tol!r}")
    if "top_tol" in kw:
        o.top_tol = _real("top_tol", kw.pop("top_tol"))
        if not 0 <= o.top_tol <= 1:
            raise InputError(f"top_tol is a population: it must lie in [0, 1], not {o.top_tol!r}")
    if "memory_limit" in kw and kw["memory_limit"] is not None:
        o.memory_limit = _bytes(kw.pop("memory_limit"))
    kw.pop("memory_limit", None)
    if "iterative_tol" in kw:
        o.iterative_tol = _real("iterative_tol", kw.pop("iterative_tol"))
        if not 0 < o.iterative_tol < 1:
            raise InputError(f"iterative_tol must lie in (0, 1), not {o.iterative_tol!r}")
    if "restart" in kw:
        r = kw.pop("restart")
        if isinstance(r, bool) or not isinstance(r, numbers.Integral) or not 2 <= r <= 10000:
            raise InputError(f"restart needs a whole number from 2 to 10000, not {r!r}")
        o.restart = int(r)
    tail_tol = _real("tail_tol", kw.pop("tail_tol", _lib.QS_AUTO_GUESS_TAIL))
    if not 0 < tail_tol < 1:
        raise InputError(f"tail_tol must lie in (0, 1), not {tail_tol!r}")
    s_tol = _real("s_tol", kw.pop("s_tol", _lib.QS_S_TOL_DEFAULT))
    if not 0 < s_tol < 2:
        raise InputError(f"s_tol must lie in (0, 2) (S itself lies in [0, 2)), not {s_tol!r}")
    return o, tail_tol, s_tol


def no_more(kw, function):
    if kw:
        raise TypeError(f"{function}() got unexpected keyword argument{'s' if len(kw) > 1 else ''} "
                        f"{', '.join(repr(k) for k in kw)}; see help(qsync.Model.{function})")


def threads(value):
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 1 <= value <= 4096:
        raise InputError(f"threads needs a whole number from 1 to 4096 (or None: all cores), not {value!r}")
    return int(value)
