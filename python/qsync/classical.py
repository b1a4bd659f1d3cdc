"""The classical Langevin model (Eq. 5) by Monte Carlo (Model.classical)."""
import ctypes
import numbers

import numpy as np

from . import _lib, _options
from ._errors import InputError
from ._lib import lib
from ._values import OscillatorValues, PairValues

# keyword: (field of qs_classical_options, lower bound, bound included)
_REALS = {"dt": ("dt", 0, False), "burn_in": ("burn_in", 0, True), "time": ("t_measure", 0, False),
          "sample_every": ("sample_every", 0, False), "cutoff": ("cutoff", 0, False),
          "significance": ("significance", 0, True)}
MAX_STEPS = 1e9
CHUNK = 32
MIN_REPLICAS = 3


class ClassicalResult:
    """The classical model's synchronization: S, S_err (jackknife standard error), phi_max
    and harmonics per pair (indexed by a pair of names, c.S["1", "2"]); escaped_fraction (the
    trajectories that left |α|² < cutoff); mean_x per oscillator (mean |α_j|²); histogram per
    oscillator (with histogram=(bins, max)); samples, oscillator_steps, seconds; settings.
    Frequencies (MODEL.md §9): nu and nu_err per oscillator (the observed frequency
    ν_j = −⟨d arg α_j/dt⟩ over the quasi-stationary ensemble and its jackknife error), beat and
    beat_err per pair (ν_a − ν_b: frequency locking is beat → 0)."""

    def __init__(self, model, res, settings, bins):
        pairs, names = model.pairs, model.names
        q = range(res.pairs)
        self.model = model
        self.S = PairValues("S", pairs, [res.pair[i].S for i in q])
        self.S_err = PairValues("S_err", pairs, [res.pair[i].S_err for i in q])
        self.phi_max = PairValues("phi_max", pairs, [res.pair[i].phi_max for i in q], angle=True)
        self.harmonics = PairValues("harmonics", pairs, [res.pair[i].harmonics for i in q])
        self.escaped_fraction = res.escaped_fraction
        if _lib.has("qs_classical_nu"):
            r = ctypes.byref(res)
            self.nu = OscillatorValues("nu", names, [lib.qs_classical_nu(r, j) for j in range(res.n)])
            self.nu_err = OscillatorValues("nu_err", names, [lib.qs_classical_nu_err(r, j) for j in range(res.n)])
            self.beat = PairValues("beat", pairs, [lib.qs_classical_beat(r, i) for i in q])
            self.beat_err = PairValues("beat_err", pairs, [lib.qs_classical_beat_err(r, i) for i in q])
        self.mean_x = OscillatorValues("mean_x", names, [res.mean_x[j] for j in range(res.n)])
        self.histogram = None
        if bins:
            self.histogram = OscillatorValues("histogram", names, [np.array(res.hist[j * bins:(j + 1) * bins])
                                                                   for j in range(res.n)])
        self.samples = res.samples
        self.oscillator_steps = res.osc_steps
        self.seconds = res.seconds
        self.settings = settings

    def __repr__(self):
        body = ", ".join(f"S[{a}-{b}]={s:.4f}±{e:.4f}" for ((a, b), s), e in zip(self.S.items(), self.S_err.values()))
        return f"<qsync.ClassicalResult {body}; escaped {self.escaped_fraction:.4f}>"


def classical_options(kw):
    o = _lib.ClassicalOptions()
    lib.qs_classical_defaults(ctypes.byref(o))
    for key, (field, low, closed) in _REALS.items():
        if key in kw:
            x = _options._real(key, kw.pop(key))
            if not (x >= low if closed else x > low) or x == float("inf"):
                raise InputError(f"{key} must be {'>=' if closed else '>'} {low}, not {x!r}")
            setattr(o, field, x)
    steps, stride = (o.burn_in + o.t_measure) / o.dt, o.sample_every / o.dt
    if not steps <= MAX_STEPS or not stride <= MAX_STEPS:
        raise InputError(f"(burn_in + time)/dt = {steps:.3g} and sample_every/dt = {stride:.3g} time steps: "
                         f"at most {MAX_STEPS:.0e}")
    for key, least, most in (("seed", 0, 2 ** 64 - 1), ("trajectories", (MIN_REPLICAS - 1) * CHUNK + 1, 100000000),
                             ("replicas", MIN_REPLICAS, 100000000)):
        if key in kw:
            v = kw.pop(key)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or not least <= v <= most:
                raise InputError(f"{key} needs a whole number from {least} to {most}, not {v!r}")
            setattr(o, key, int(v))
    if o.trajectories < (o.replicas - 1) * CHUNK + 1:
        raise InputError(f"trajectories {o.trajectories} fill fewer than {o.replicas} replicas of {CHUNK}: "
                         f"give at least {(o.replicas - 1) * CHUNK + 1} or fewer replicas")
    o.threads = _options.threads(kw.pop("threads", None))
    return o


def classical(model, **kw):
    hist = kw.pop("histogram", None)
    o = classical_options(kw)
    _options.no_more(kw, "classical")
    if hist is not None:
        try:
            bins, top = hist
        except (TypeError, ValueError):
            raise InputError(f"histogram needs (bins, max), e.g. (40, 8), not {hist!r}") from None
        if isinstance(bins, bool) or not isinstance(bins, numbers.Integral) or not 1 <= bins <= 100000:
            raise InputError(f"histogram: bins must be a whole number from 1 to 100000, not {bins!r}")
        top = _options._real("histogram max", top)
        if not top > 0 or top == float("inf"):
            raise InputError(f"histogram: max must be > 0, not {top!r}")
        o.hist_bins, o.hist_max = int(bins), top
    res = _lib.ClassicalResult()
    err = _lib.Err()
    _lib.check(lib.qs_classical_run(model._ptr, ctypes.byref(o), ctypes.byref(res), ctypes.byref(err)), err,
               model.source)
    try:
        settings = {"dt": o.dt, "burn_in": o.burn_in, "time": o.t_measure, "sample_every": o.sample_every,
                    "trajectories": o.trajectories, "replicas": o.replicas, "seed": o.seed, "cutoff": o.cutoff,
                    "significance": o.significance}
        return ClassicalResult(model.copy(), res, settings, o.hist_bins)
    finally:
        lib.qs_classical_result_free(ctypes.byref(res))


classical.__doc__ = f"""Run the classical Langevin model (Eq. 5, MODEL.md §3) by Monte Carlo;
returns a qsync.ClassicalResult (S, S_err, phi_max per pair, escaped_fraction, mean_x).
As `qsync classical MODEL --json`: results are bit-identical for any thread count.

    c = m.classical(trajectories=4096, seed=3)
    c.S["1", "2"], c.S_err["1", "2"], c.escaped_fraction

The model's noise and gamma_T keys set the classical noise D and thermal damping.

Keywords (all optional):
    trajectories    default 2048 (at least (replicas - 1) * {CHUNK} + 1)
    replicas        independent groups for the error bars (default 16)
    seed            random seed (default 1)
    dt              time step (default 0.02)
    burn_in         time before sampling (default 50)
    time            sampling time after the burn-in (default 200)
    sample_every    time between samples (default 0.5)
    cutoff          |alpha|^2 beyond which a trajectory has escaped (default 8)
    significance    harmonics kept while |c_l| > significance x error (default 2)
    histogram       (bins, max): histogram of |alpha|^2 per oscillator on [0, max)
    threads         default: all cores
"""
