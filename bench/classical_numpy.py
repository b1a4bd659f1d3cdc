#!/usr/bin/env python3
"""Peer for the classical benchmark: the same Strang splitting as qsync (exact rotation,
midpoint damping, exact coupling unitary, additive noise) written in vectorised NumPy over
trajectories, Fig. 2a parameters (two oscillators). Prints oscillator-steps per second on
one core (OPENBLAS_NUM_THREADS=1 is set by bench/run).
usage: classical_numpy.py TRAJECTORIES STEPS [normal|three-point]: the noise increments,
Gaussian (NumPy's ziggurat) or qsync's three-point variables (default)."""
import json
import sys
import time

import numpy as np

traj, steps, dt = int(sys.argv[1]), int(sys.argv[2]), 0.02
noise = sys.argv[3] if len(sys.argv) > 3 else "three-point"
K, s2, npl, nmi, D, V = 2.0, 0.04, 2.0, 3.0, 0.1, 0.05
omega = np.array([0.0, 0.0])
rng = np.random.default_rng(1)
a = np.sqrt(2.5) * np.exp(2j * np.pi * rng.random((2, traj)))
w, Vec = np.linalg.eigh(np.array([[0, V], [V, 0]], complex))
U = Vec @ np.diag(np.exp(-0.5j * w * dt)) @ Vec.conj().T


def gam(x):
    return s2 / ((x - nmi) ** 2 + s2) - s2 / ((x - npl) ** 2 + s2)


def local(a, h):
    x = (a.real ** 2 + a.imag ** 2)
    xm = 0.5 * x * (1 + np.exp(-gam(x) * h))
    return a * np.exp(-0.5 * gam(xm) * h) * np.exp(-1j * (omega[:, None] - 2 * K * xm) * h)


t0 = time.perf_counter()
a = local(a, dt / 2)
for _ in range(steps):
    a = U @ a
    if noise == "normal":
        xi = rng.standard_normal((2, 2, traj))
    else:
        u = rng.random((2, 2, traj))
        xi = np.where(u < 1 / 6, -np.sqrt(3), np.where(u >= 5 / 6, np.sqrt(3), 0.0))
    a = a + np.sqrt(D * dt / 2) * (xi[0] + 1j * xi[1])
    a = U @ a
    a = local(a, dt)
t = time.perf_counter() - t0
print(json.dumps({"trajectories": traj, "steps": steps, "noise": noise, "seconds": t, "oscillator_steps_per_second": 2 * traj * steps / t}))
