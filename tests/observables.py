#!/usr/bin/env python3
"""Every observable of `qsync steady --json` (MODEL.md §7) against QuTiP, the saved state,
the phase distributions, and the exact limits of uncoupled oscillators.

usage: observables.py QSYNC MODELS_DIR

For each network (two unequal oscillators; a complex coupling; three oscillators with
unequal truncations; Fig. 3a at 10 levels) qsync's JSON gives the model as it solved it;
H and the collapse operators are built from it by tests/qutip_peer.py (MODEL.md §1), QuTiP
solves for ρ, and every observable is computed from ρ with QuTiP's own operations:
  - mean_n, var_n, populations: expect() of n and n² and the diagonal of ptrace(ρ, j);
  - correlation, correlation_phase: expect(a_a† a_b), normalised by expect(n_a), expect(n_b);
  - negativity, log_negativity: eigenvalues of qutip.partial_transpose(ρ_ab, [0, 1]);
  - mutual_information: qutip.entropy_vn (base e) of ptrace(ρ, a), ptrace(ρ, b), ρ_ab;
  - S, phi_max: tests/qutip_peer.py's measure (dense grid + bounded optimiser);
  - S_Q, phi_max_Q: the Husimi function itself, integrated: P_Q(φ) = 2π ∫∫ r_a r_b
    Q(r_a e^{iφ}, r_b) dr_a dr_b with Q(α_a, α_b) = ⟨α_a α_b|ρ_ab|α_a α_b⟩/π² from coherent
    states (Gauss-Legendre in r_a, r_b on [0, R]), maximised like S. No G(n, m) enters.
Tolerance 1e-8 absolute on every value (relative 1e-8 above 1); the maximisers phi_max and
phi_max_Q 1e-6 (the optimiser locates a flat maximum to about sqrt(round-off / curvature)).
The P and P_Q columns of --phase-distribution are compared with the same integrals, and
--save-state FILE.npy and --save-reduced, read by numpy.load, with QuTiP's ρ and ptrace
(same basis order).
Dynamical observables (MODEL.md §8) against QuTiP's Liouvillian (qutip.liouvillian, sparse,
cut into its excitation-difference sectors by index): relaxation_rate and coherence_rate are
the smallest −Re λ of numpy's eigenvalues (on the networks within qsync steady's size rule, sector 0
of at most 400 unknowns; above it, that they read null with the rule as reason) on sector 0 (the steady state's 0 left out) and −1
(1e-8); the spectrum S_j(ω) = Σ_m 2 Re[w_m/(iω − λ_m)] from the eigenvectors on sector −1 (checked
against qutip.spectrum at three frequencies, 1e-8 relative, where the network is small enough for
its full diagonalisation: D ≤ 44), its global maximum found by a
dense grid and a bounded optimiser and its half-height crossings by brentq, give peak_frequency
(1e-6 absolute) and fwhm (1e-6 relative).
Exact limits (the couplings set to 0): negativity, log_negativity, mutual information and
correlation 0 to 1e-12, S = S_Q = 0; coherence_rate is the smallest κ_n = [Γ(n) + Γ(n−1)]/2
(1e-10), every coherence |n−1⟩⟨n| being an eigenmode. --save-state above its limit is refused (exit 2, no
file), and an unwritable path exits 1.
"""
import csv
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import qutip
from scipy.optimize import brentq, minimize_scalar

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, finish  # noqa: E402
from qutip_peer import build, measure  # noqa: E402

QSYNC, MODELS = sys.argv[1], sys.argv[2]
EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
TOL, TOL_ANGLE, TOL_ZERO = 1e-8, 1e-6, 1e-12
TOL_PEAK = 1e-6          # peak_frequency (absolute) and fwhm (relative): the library refines between grid points


def steady(*args):
    r = subprocess.run([QSYNC, "steady", *args, "--json"], capture_output=True, text=True, timeout=600)
    return r.returncode, (json.loads(r.stdout) if r.returncode == 0 else None), r.stderr


def close(name, got, want, tol=TOL):
    ok = got is not None and abs(got - want) <= tol * max(1.0, abs(want))
    check(name, ok, f"qsync {got!r}, QuTiP {want!r}, |diff| {abs(got - want) if got is not None else float('nan'):.2e} "
                    f"(tolerance {tol:g})")
    return abs(got - want) if got is not None else math.inf


def angle_diff(x, y):
    d = abs(x - y) % (2 * math.pi)
    return min(d, 2 * math.pi - d)


# Gauss-Legendre nodes on [0, R] for the radial integrals of the Husimi function
def radial_nodes(levels):
    R = math.sqrt(levels) + 7.0          # e^{-r²} r^{2n+1} is below 1e-19 beyond this for n < levels
    x, w = np.polynomial.legendre.leggauss(120)
    return 0.5 * R * (x + 1), 0.5 * R * w


def coherent_columns(L, r, phase):
    """⟨n|α⟩ for α = r e^{i phase}, n < L, one column per r (exact, not truncated-normalised)."""
    n = np.arange(L)[:, None]
    logf = np.array([math.lgamma(k + 1) for k in range(L)])[:, None]
    mag = np.exp(-r[None, :] ** 2 / 2 + n * np.log(np.where(r > 0, r, 1e-300))[None, :] - logf / 2)
    mag[0, :] = np.exp(-r ** 2 / 2)
    return mag * np.exp(1j * n * phase)


def husimi_P(rab, La, Lb, phi):
    """P_Q(φ) = 2π ∫∫ r_a r_b Q(r_a e^{iφ}, r_b) dr_a dr_b, Q = ⟨α_a α_b|ρ_ab|α_a α_b⟩/π²."""
    ra, wa = radial_nodes(La)
    rb, wb = radial_nodes(Lb)
    ca = coherent_columns(La, ra, phi)                   # [La, Na]
    cb = coherent_columns(Lb, rb, 0.0)                   # [Lb, Nb]
    R = rab.reshape(La, Lb, La, Lb)
    # Q(i, k) = Σ conj(ca[n,i] cb[m,k]) R[n,m,p,q] ca[p,i] cb[q,k] / π²
    t = np.einsum("nmpq,pi,qk->nmik", R, ca, cb, optimize=True)
    Q = np.real(np.einsum("ni,mk,nmik->ik", ca.conj(), cb.conj(), t, optimize=True)) / math.pi ** 2
    return 2 * math.pi * float(np.sum((wa * ra)[:, None] * (wb * rb)[None, :] * Q))


def husimi_max(rab, La, Lb):
    grid = np.linspace(0, 2 * np.pi, 128, endpoint=False)
    vals = np.array([husimi_P(rab, La, Lb, p) for p in grid])
    i = int(np.argmax(vals))
    h = grid[1]
    res = minimize_scalar(lambda p: -husimi_P(rab, La, Lb, p), bounds=(grid[i] - h, grid[i] + h), method="bounded",
                          options={"xatol": 1e-12})
    best = max(vals[i], -res.fun)
    return 2 * math.pi * best - 1, res.x % (2 * np.pi)


def husimi_coefficients(rab, La, Lb):
    """c_l^Q with G(n, m) = Γ((n+m)/2+1)/√(n! m!) by math.lgamma (the formula of MODEL.md §7)."""
    def G(n, m):
        return math.exp(math.lgamma((n + m) / 2 + 1) - 0.5 * (math.lgamma(n + 1) + math.lgamma(m + 1)))
    lmax = min(La, Lb) - 1
    c = np.zeros(lmax + 1, complex)
    for l in range(lmax + 1):
        for na in range(l, La):
            for nb in range(0, Lb - l):
                c[l] += rab[na * Lb + nb, (na - l) * Lb + (nb + l)] * G(na, na - l) * G(nb, nb + l)
    return c


def sector_blocks(H, c_ops, dims):
    """QuTiP's Liouvillian cut into sectors: {k: (indices, dense block)} for k = 0, −1; vec(ρ)
    is column-stacked (index i + D j for ρ_ij), k = N(i) − N(j) (ket minus bra excitations)."""
    L = qutip.liouvillian(H, c_ops).data.tocsr()
    D = int(np.prod(dims))
    tot = np.array([sum(np.unravel_index(s, dims)) for s in range(D)])
    idx = np.arange(D * D)
    k = tot[idx % D] - tot[idx // D]
    out = {}
    for sector in (0, -1):
        sel = np.where(k == sector)[0]
        out[sector] = (sel, L[sel][:, sel].toarray())
    return out


def dynamics_reference(H, c_ops, dims, a_ops, rho):
    """relaxation_rate, coherence_rate, and per oscillator (peak_frequency, fwhm, S(ω) at three
    points vs qutip.spectrum: largest relative difference), from QuTiP's Liouvillian."""
    blocks = sector_blocks(H, c_ops, dims)
    ev0 = np.linalg.eigvals(blocks[0][1])
    ev0 = np.delete(ev0, int(np.argmin(np.abs(ev0))))          # the steady state's 0
    relaxation = float(np.min(-ev0.real))
    sel, L1 = blocks[-1]
    lam, R = np.linalg.eig(L1)
    Rinv = np.linalg.inv(R)
    coherence = float(np.min(-lam.real))
    per = []
    for a in a_ops:
        b = (a * rho).full().reshape(-1, order="F")[sel]
        u = a.dag().full().T.reshape(-1, order="F")[sel]     # Tr[a† X] = u · vec(X)
        w = (u @ R) * (Rinv @ b)

        def S(om, w=w):
            return float(np.sum(2 * np.real(w / (1j * om - lam))))
        lo, hi = float(np.min(lam.imag)) - 10, float(np.max(lam.imag)) + 10
        grid = np.linspace(lo, hi, 40001)
        vals = np.array([S(x) for x in grid])
        i = int(np.argmax(vals))
        h = grid[1] - grid[0]
        res = minimize_scalar(lambda x: -S(x), bounds=(grid[i] - h, grid[i] + h), method="bounded",
                              options={"xatol": 1e-12})
        peak, height = res.x, -res.fun
        left = i
        while left > 0 and vals[left] > height / 2:
            left -= 1
        right = i
        while right < len(grid) - 1 and vals[right] > height / 2:
            right += 1
        if vals[left] <= height / 2 and vals[right] <= height / 2:
            fwhm = brentq(lambda x: S(x) - height / 2, peak, grid[right], xtol=1e-13) - \
                brentq(lambda x: S(x) - height / 2, grid[left], peak, xtol=1e-13)
        else:
            fwhm = math.nan
        qdiff = math.nan                 # qutip.spectrum diagonalises the whole Liouvillian: small networks only
        if np.prod(dims) <= 44:
            probe = [peak, peak + 0.7, peak - 3.1]
            q = qutip.spectrum(H, probe, c_ops, a.dag(), a)
            mine = np.array([S(x) for x in probe])
            qdiff = float(np.max(np.abs(q - mine) / np.maximum(np.abs(mine), 1e-300)))
        per.append((peak, fwhm, qdiff))
    return relaxation, coherence, per


def kappa_min(o):
    """min over n of κ_n = [Γ(n) + Γ(n−1)]/2 for an uncoupled oscillator (MODEL.md §8)."""
    L = o["levels"]

    def f(x, n0, s):
        return s * s / ((x - n0) ** 2 + s * s)

    def G(k):
        up = o["gamma_plus"] * f(k + 1, o["n_plus"], o["sigma_plus"]) * (k + 1) if k < L - 1 else 0.0
        down = o["gamma_minus"] * f(k, o["n_minus"], o["sigma_minus"]) * k
        return up + down
    return min((G(n) + G(n - 1)) / 2 for n in range(1, L))


def compare(label, model_args, uncoupled=False, dynamics=True):
    with tempfile.TemporaryDirectory() as tmp:
        npy, pcsv = os.path.join(tmp, "rho.npy"), os.path.join(tmp, "p.csv")
        rc, q, err = steady(*model_args, "--save-state", npy, "--phase-distribution", pcsv, "--no-truncation-check")
        check(f"{label}: qsync steady --json --save-state --phase-distribution exits 0", rc == 0, err.strip()[:300])
        if rc != 0:
            return
        saved = np.load(npy)
        rows = list(csv.reader(open(pcsv)))
    H, c_ops, dims, names = build(q)
    rho = qutip.steadystate(H, c_ops)
    R = rho.full()
    worst = {}

    def note(kind, d):
        worst[kind] = max(worst.get(kind, 0.0), d)

    check(f"{label}: saved state is complex128 D x D (D = {R.shape[0]})",
          saved.dtype == np.complex128 and saved.shape == R.shape, f"{saved.dtype} {saved.shape}")
    if saved.shape == R.shape:
        note("state", close(f"{label}: --save-state vs QuTiP's rho, max |diff|", float(np.max(np.abs(saved - R))), 0.0))
    n = len(dims)
    a_ops = []
    for j in range(n):
        ops = [qutip.qeye(d) for d in dims]
        ops[j] = qutip.destroy(dims[j])
        a_ops.append(qutip.tensor(ops))
    for j, o in enumerate(q["oscillators"]):
        nj = a_ops[j].dag() * a_ops[j]
        mean = qutip.expect(nj, rho)
        var = qutip.expect(nj * nj, rho) - mean ** 2
        pops = np.real(np.diag(rho.ptrace(j).full()))
        note("mean_n", close(f"{label}: mean_n of {o['name']}", o["mean_n"], mean))
        note("var_n", close(f"{label}: var_n of {o['name']}", o["var_n"], var))
        d = float(np.max(np.abs(np.array(o["populations"]) - pops))) if len(o["populations"]) == len(pops) else math.inf
        note("populations", close(f"{label}: populations of {o['name']} ({len(pops)} levels), max |diff|", d, 0.0))
    col = 1
    n_pairs = len(q["pairs"])
    for p in q["pairs"]:
        ja, jb = names.index(p["a"]), names.index(p["b"])
        La, Lb = dims[ja], dims[jb]
        pair = f"{label}: pair {p['a']}-{p['b']}"
        rab_q = rho.ptrace([ja, jb])
        rab = rab_q.full()
        # S, phi_max
        S, phi = measure(rho, dims, ja, jb)
        note("S", close(f"{pair}: S", p["S"], S))
        if S > 1e-6:                        # a maximiser exists (S = 0: P is flat, any phase is one)
            note("phi_max", close(f"{pair}: phi_max (maximiser)", angle_diff(p["phi_max"], phi), 0.0, TOL_ANGLE))
        # correlation
        z = qutip.expect(a_ops[ja].dag() * a_ops[jb], rho)
        na, nb = qutip.expect(a_ops[ja].dag() * a_ops[ja], rho), qutip.expect(a_ops[jb].dag() * a_ops[jb], rho)
        note("correlation", close(f"{pair}: correlation", p["correlation"], abs(z) / math.sqrt(na * nb)))
        if abs(z) > 1e-10:
            note("correlation_phase", close(f"{pair}: correlation_phase", angle_diff(p["correlation_phase"], np.angle(z)), 0.0))
        # negativity
        pt = qutip.partial_transpose(rab_q, [0, 1])
        norm = float(np.sum(np.abs(np.linalg.eigvalsh(pt.full()))))
        note("negativity", close(f"{pair}: negativity", p["negativity"], (norm - 1) / 2))
        note("log_negativity", close(f"{pair}: log_negativity", p["log_negativity"], math.log2(norm)))
        # mutual information
        mi = qutip.entropy_vn(rho.ptrace(ja)) + qutip.entropy_vn(rho.ptrace(jb)) - qutip.entropy_vn(rab_q)
        note("mutual_information", close(f"{pair}: mutual_information", p["mutual_information"], mi))
        # S_Q: the Husimi function integrated, and the coefficient formula
        SQ, phiQ = husimi_max(rab, La, Lb)
        note("S_Q", close(f"{pair}: S_Q (Husimi function integrated)", p["S_Q"], SQ))
        if SQ > 1e-6:
            note("phi_max_Q", close(f"{pair}: phi_max_Q (maximiser)", angle_diff(p["phi_max_Q"], phiQ), 0.0, TOL_ANGLE))
        cq = husimi_coefficients(rab, La, Lb)
        check(f"{pair}: c_0^Q = 1 (P_Q normalised)", abs(cq[0] - 1) < 1e-12, f"{cq[0]}")
        for phi_t in (0.3, 2.0, 4.4):       # the integral against the coefficient series
            series = (1 + 2 * np.real(np.sum(cq[1:] * np.exp(-1j * np.arange(1, len(cq)) * phi_t)))) / (2 * math.pi)
            note("P_Q series", close(f"{pair}: P_Q({phi_t}) integrated vs the G(n,m) series", series, husimi_P(rab, La, Lb, phi_t)))
        # the CSV columns at a few rows
        if rows:
            head = rows[0]
            ip, iq = head.index(f"P_{p['a']}-{p['b']}"), head.index(f"PQ_{p['a']}-{p['b']}")
            check(f"{pair}: CSV columns P_ then PQ_ in pair order", ip == col and iq == col + n_pairs, str(head))
            for r in rows[1::120]:
                ph = float(r[0])
                lmax = min(La, Lb) - 1
                c = np.array([sum(rab[na * Lb + nb, (na - l) * Lb + nb + l] for na in range(l, La) for nb in range(Lb - l))
                              for l in range(lmax + 1)])
                P = (1 + 2 * np.real(np.sum(c[1:] * np.exp(-1j * np.arange(1, lmax + 1) * ph)))) / (2 * math.pi)
                note("P csv", close(f"{pair}: P({ph:.4f}) of the CSV", float(r[ip]), P, 1e-8))
                note("PQ csv", close(f"{pair}: P_Q({ph:.4f}) of the CSV", float(r[iq]), husimi_P(rab, La, Lb, ph), 1e-8))
        col += 1
        if uncoupled:
            for key in ("negativity", "log_negativity", "mutual_information", "correlation", "S", "S_Q"):
                check(f"{pair} uncoupled: {key} = 0", abs(p[key]) <= TOL_ZERO, f"{p[key]!r}")
    # the dynamical observables: computed by the size rule (sector 0 of at most 400 unknowns)
    if not dynamics:
        check(f"{label}: sector 0 of {q['sector_dimension']} unknowns, above the rule's 400: the dynamical observables "
              "not computed, null, the reason naming the rule",
              q["sector_dimension"] > 400 and not q["dynamics"]["computed"] and "400" in q["dynamics"]["reason"]
              and q["relaxation_rate"] is None and all(o["peak_frequency"] is None for o in q["oscillators"]),
              str(q["dynamics"]))
    if dynamics:
        check(f"{label}: the dynamical observables computed (sector 0 of {q['sector_dimension']} unknowns)",
              q["dynamics"]["computed"] and q["dynamics"]["reason"] == "", str(q["dynamics"]))
        relax, coh, per = dynamics_reference(H, c_ops, dims, a_ops, rho)
        note("relaxation_rate", close(f"{label}: relaxation_rate", q["relaxation_rate"], relax))
        note("coherence_rate", close(f"{label}: coherence_rate", q["coherence_rate"], coh))
        for o, (peak, fwhm, qdiff) in zip(q["oscillators"], per):
            if not math.isnan(qdiff):
                check(f"{label}: the reference spectrum of {o['name']} equals qutip.spectrum at three frequencies "
                      "(1e-8 relative)", qdiff <= 1e-8, f"{qdiff:.2e}")
            note("peak_frequency", close(f"{label}: peak_frequency of {o['name']}", o["peak_frequency"], peak, TOL_PEAK))
            if math.isnan(fwhm):
                check(f"{label}: fwhm of {o['name']} NaN as the reference's", o["fwhm"] is None, f"{o['fwhm']!r}")
            else:
                note("fwhm", close(f"{label}: fwhm of {o['name']}", o["fwhm"] / fwhm - 1 if o["fwhm"] else None, 0.0,
                                   TOL_PEAK))
        if uncoupled:
            close(f"{label}: coherence_rate = the smallest kappa_n over the oscillators (exact)", q["coherence_rate"],
                  min(kappa_min(o) for o in q["oscillators"]), 1e-10)
    # --save-reduced: a pair, the same pair the other way round, one oscillator
    pa, pb = q["pairs"][0]["a"], q["pairs"][0]["b"]
    ja, jb = names.index(pa), names.index(pb)
    with tempfile.TemporaryDirectory() as tmp:
        f_ab, f_ba, f_a = (os.path.join(tmp, x) for x in ("ab.npy", "ba.npy", "a.npy"))
        r = subprocess.run([QSYNC, "steady", *model_args, "--no-truncation-check", "--save-reduced", f"{pa}-{pb}={f_ab}",
                            "--save-reduced", f"{pb}-{pa}={f_ba}", "--save-reduced", f"{pa}={f_a}"],
                           capture_output=True, text=True, timeout=600)
        check(f"{label}: --save-reduced of {pa}-{pb}, {pb}-{pa} and {pa} exits 0", r.returncode == 0, r.stderr.strip()[:300])
        if r.returncode == 0:
            rab, rba, ra = np.load(f_ab), np.load(f_ba), np.load(f_a)
            La, Lb = dims[ja], dims[jb]
            want = rho.ptrace([ja, jb]).full()
            swapped = want.reshape(La, Lb, La, Lb).transpose(1, 0, 3, 2).reshape(La * Lb, La * Lb)
            note("reduced", close(f"{label}: --save-reduced {pa}-{pb} vs ptrace, max |diff|", float(np.max(np.abs(rab - want))), 0.0))
            note("reduced", close(f"{label}: --save-reduced {pb}-{pa} ({pb} slowest) vs ptrace, max |diff|",
                                  float(np.max(np.abs(rba - swapped))), 0.0))
            note("reduced", close(f"{label}: --save-reduced {pa} vs ptrace, max |diff|",
                                  float(np.max(np.abs(ra - rho.ptrace(ja).full()))), 0.0))
    print(f"{label}: largest |qsync - QuTiP| per observable: " + ", ".join(f"{k} {v:.1e}" for k, v in worst.items()))


compare("unequal", [os.path.join(MODELS, "peer_unequal.ini")])
compare("complex coupling", [os.path.join(MODELS, "peer_complex.ini")])
compare("three oscillators", [os.path.join(MODELS, "peer_three.ini")], dynamics=False)
compare("fig3a (10 levels)", [os.path.join(EXAMPLES, "fig3a.ini")], dynamics=False)
compare("uncoupled unequal", [os.path.join(MODELS, "peer_unequal.ini"), "--set", "a-b=0"], uncoupled=True)
compare("uncoupled three", [os.path.join(MODELS, "peer_three.ini"), "--set", "A-C=0", "--set", "B-C=0", "--set", "A-B=0"],
        uncoupled=True, dynamics=False)

# --save-state: above 2 GiB refused before solving, no file; an unwritable path exits 1
with tempfile.TemporaryDirectory() as tmp:
    big = os.path.join(tmp, "big.ini")
    with open(big, "w") as f:
        f.write("[defaults]\nsigma = 0.3\nnbar = 2\nlevels = 23\n[oscillator a]\n[oscillator b]\n[oscillator c]\n"
                "[coupling]\na-b = 0.1\n")
    out = os.path.join(tmp, "big.npy")
    r = subprocess.run([QSYNC, "steady", big, "--save-state", out], capture_output=True, text=True, timeout=60)
    check("--save-state of a 12167 x 12167 state (2.2 GiB): exit 2, message names the flag, size and limit, no file",
          r.returncode == 2 and "--save-state" in r.stderr and "12167" in r.stderr and "2 GiB" in r.stderr
          and not os.path.exists(out), f"exit {r.returncode}: {r.stderr.strip()}")
    r = subprocess.run([QSYNC, "steady", os.path.join(MODELS, "peer_complex.ini"), "--save-state",
                        os.path.join(tmp, "no", "such", "dir", "x.npy")], capture_output=True, text=True, timeout=60)
    check("--save-state into a missing folder: exit 1, 'cannot write' naming the path",
          r.returncode == 1 and "cannot write" in r.stderr and "x.npy" in r.stderr, f"exit {r.returncode}: {r.stderr.strip()}")
    for spec, why in ((f"A-Z={tmp}/x.npy", "neither an oscillator nor a pair"), ("A", "is not NAME=FILE.npy"),
                      (f"A-A={tmp}/x.npy", "neither an oscillator nor a pair")):
        r = subprocess.run([QSYNC, "steady", os.path.join(MODELS, "peer_three.ini"), "--save-reduced", spec],
                           capture_output=True, text=True, timeout=60)
        check(f"--save-reduced {spec.replace(tmp, 'DIR')}: exit 2, '{why}', nothing solved or written",
              r.returncode == 2 and why in r.stderr and "--save-reduced" in r.stderr and not r.stdout,
              f"exit {r.returncode}: {r.stderr.strip()}")
    check("no temporary file left behind", sorted(os.listdir(tmp)) == ["big.ini"], str(os.listdir(tmp)))
finish()
