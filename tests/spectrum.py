#!/usr/bin/env python3
"""qsync spectrum against exact results and an independent peer (MODEL.md §8).

- QuTiP: the regression formula S_j(w) = 2 Re Tr[a_j^+ (iw - L)^-1 (a_j rho_ss)] on QuTiP's own
  Liouvillian (qutip.liouvillian, the whole D^2 space) and steady state, built from scratch from
  the model (qutip_peer.build), solved by SciPy's sparse LU: three networks, every 10th point of
  the default grid, 1e-6 relative at every frequency.
- The exact uncoupled spectrum S = sum_n n p(n) 2 k_n / (k_n^2 + (w - v_n)^2) (computed here from
  the model's rates, MODEL.md §1 and §8) to 1e-10.
- The spectral lines: their sum equals the direct solve (1e-8 of the peak), sum_m Re w_jm = <n_j>
  (1e-8), the dense eigenvalues agree with QuTiP's.
- The refined peak (off the grid) against the maximum of a dense grid; the FWHM against the
  half-height crossings of a dense grid.
- A coherence that never decays (gamma = 0): refused by the library (QS_ENUMERIC) and by the
  command (exit status 3), never numbers.
- Large sectors (ARPACK, forced by --dense-max 10) against the dense path: every line found is a
  dense eigenvalue with the same weights (1e-8), relaxation and coherence rates (1e-10); the
  uncoupled network's lines carry all of <n> and sum to the direct solve (1e-8).
- OMP_NUM_THREADS=1 and 2 give bit-identical spectra.

usage: spectrum.py QSYNC LIBQSYNC MODELS_DIR
"""
import ctypes
import json
import os
import subprocess
import sys

import numpy as np
import qutip
import scipy.sparse as sp
import scipy.sparse.linalg as spla

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, finish          # noqa: E402
from qutip_peer import build             # noqa: E402
from plot_legend import check_pair       # noqa: E402

QSYNC, LIB, MODELS = sys.argv[1], sys.argv[2], sys.argv[3]
# In the sanitizer build this interpreter is started with AddressSanitizer's run-time preloaded, so
# that the instrumented library can be loaded by ctypes, and with leak detection off, since the
# interpreter's own allocations at exit are not the library's. The commands run below get neither:
# they are instrumented programs of their own and are checked for leaks as usual.
if os.environ.pop("QSYNC_TEST_PRELOADED_ASAN", None):
    os.environ.pop("LD_PRELOAD", None)
    os.environ.pop("ASAN_OPTIONS", None)
PEER_TOL = 1e-6
EXACT_TOL = 1e-10
LINES_TOL = 1e-8
SUM_TOL = 1e-8


def run(args, env=None):
    r = subprocess.run([QSYNC] + args, capture_output=True, text=True, env=env)
    return r


def spectrum_json(model, *flags, env=None):
    r = run(["spectrum", model, "--json"] + list(flags), env=env)
    if r.returncode != 0:
        raise RuntimeError(f"qsync spectrum {model} {' '.join(flags)}: exit {r.returncode}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def steady_json(model, *flags):
    r = run(["steady", model, "--json", "--no-truncation-check"] + list(flags))
    if r.returncode != 0:
        raise RuntimeError(f"qsync steady {model}: exit {r.returncode}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def qutip_spectra(model, flags, omega):
    """S_j at every omega by the regression formula on QuTiP's Liouvillian and steady state."""
    H, c_ops, dims, names = build(steady_json(model, *flags))
    rho = qutip.steadystate(H, c_ops)
    L = qutip.liouvillian(H, c_ops).data.tocsc()
    D = int(np.prod(dims))
    ops = []
    for j in range(len(dims)):
        o = [qutip.qeye(d) for d in dims]
        o[j] = qutip.destroy(dims[j])
        ops.append(qutip.tensor(o))
    B = np.column_stack([qutip.operator_to_vector(a * rho).full().ravel() for a in ops])
    eye = sp.identity(D * D, dtype=complex, format="csc")
    out = np.zeros((len(dims), len(omega)))
    for i, w in enumerate(omega):
        X = spla.splu((1j * w * eye - L).tocsc()).solve(B)
        for j, a in enumerate(ops):
            Xm = X[:, j].reshape((D, D), order="F")       # QuTiP stacks columns
            out[j, i] = 2 * np.real(np.trace(a.dag().full() @ Xm))
    return out, L, names


def lines_sum(lines, j, omega):
    lam = np.array([-l["half_width"] + 1j * l["frequency"] for l in lines])
    w = np.array([l["weights"][j]["re"] + 1j * l["weights"][j]["im"] for l in lines])
    return np.array([2 * np.real(np.sum(w / (1j * x - lam))) for x in omega])


def exact_uncoupled(osc, omega):
    """MODEL.md §8: S(w) = sum_{n>=1} n p(n) 2 k_n / (k_n^2 + (w - v_n)^2), rates of §1."""
    L = osc["levels"]

    def f(s, n0, n):
        return s * s / ((n - n0) ** 2 + s * s)

    up = [0.0] + [osc["gamma_plus"] * f(osc["sigma_plus"], osc["n_plus"], n) * n for n in range(1, L)]
    down = [0.0] + [osc["gamma_minus"] * f(osc["sigma_minus"], osc["n_minus"], n) * n for n in range(1, L)]
    out_rate = [(up[k + 1] if k + 1 < L else 0.0) + down[k] for k in range(L)]
    p = [1.0]
    for n in range(1, L):
        p.append(p[-1] * up[n] / down[n])
    p = np.array(p) / sum(p)
    S = np.zeros_like(omega)
    for n in range(1, L):
        nu = osc["omega"] - 2 * osc["K"] * (n - 1)
        k = 0.5 * (out_rate[n] + out_rate[n - 1])
        S += n * p[n] * 2 * k / (k * k + (omega - nu) ** 2)
    return S, float(np.sum(np.arange(L) * p))


def main():
    # ---- QuTiP peer on three networks; lines against the direct solve and the sum rule ----
    # peer_unequal on the default grid (every 10th point to QuTiP), the others on 201 and 101 points
    for name, grid in (("peer_unequal", []), ("peer_complex", ["--omega", "-50:20:201"]), ("peer_three", ["--omega", "-40:35:101"])):
        model = os.path.join(MODELS, name + ".ini")
        flags = []
        try:
            q = spectrum_json(model, "--lines", *grid)
            omega = np.array(q["omega"])
            sub = np.arange(0, len(omega), 10 if not grid else 1)
            ref, Lq, names = qutip_spectra(model, flags, omega[sub])
        except Exception as e:          # a failed set-up is a failure
            check(f"{name}: spectrum against QuTiP", False, str(e))
            continue
        for j, o in enumerate(q["oscillators"]):
            mine = np.array(o["spectrum"])
            rel = np.max(np.abs(mine[sub] - ref[j]) / np.abs(ref[j]))
            check(f"{name} {o['name']}: S(omega) against QuTiP's Liouvillian at {len(sub)} frequencies", rel <= PEER_TOL,
                  f"largest relative difference {rel:.2e} (tolerance {PEER_TOL:g})")
            rebuilt = lines_sum(q["lines"], j, omega)
            d = np.max(np.abs(rebuilt - mine)) / np.max(mine)
            check(f"{name} {o['name']}: the lines' sum equals the direct solve at {len(omega)} frequencies", d <= LINES_TOL,
                  f"largest difference {d:.2e} of the peak (tolerance {LINES_TOL:g})")
            s = sum(l["weights"][j]["re"] for l in q["lines"])
            e = abs(s - o["mean_n"]) / o["mean_n"]
            check(f"{name} {o['name']}: sum rule sum_m Re w_jm = <n>", e <= SUM_TOL,
                  f"{s:.12f} against <n> = {o['mean_n']:.12f}, relative {e:.1e} (tolerance {SUM_TOL:g})")
        # the lines' eigenvalues against QuTiP's: every eigenvalue of sector -1 is one of the full L's
        ev = np.linalg.eigvals(Lq.toarray()) if Lq.shape[0] <= 2000 else None
        if ev is not None:
            lam = np.array([-l["half_width"] + 1j * l["frequency"] for l in q["lines"]])
            dist = max(np.min(np.abs(ev - x)) for x in lam)
            scale = np.max(np.abs(ev))
            check(f"{name}: every line is an eigenvalue of QuTiP's Liouvillian", dist <= 1e-9 * scale,
                  f"largest distance {dist:.2e} (tolerance 1e-9 x {scale:.3g})")

    # ---- large sectors: ARPACK shift-invert (forced by --dense-max) against the dense path ----
    def eig(l):
        return -l["half_width"] + 1j * l["frequency"]

    for name, grid in (("peer_three", "-40:35:101"), ("peer_ring", "-20:15:61")):
        model = os.path.join(MODELS, name + ".ini")
        try:
            d = spectrum_json(model, "--omega", grid, "--lines", "--dense-max", "5000")
            a = spectrum_json(model, "--omega", grid, "--lines", "--dense-max", "10")
        except Exception as e:
            check(f"{name}: ARPACK lines against dense", False, str(e))
            continue
        check(f"{name}: --dense-max 10 takes the ARPACK path, 5000 the dense one",
              a["lines_method"] == "arpack" and d["lines_method"] == "dense" and len(a["lines"]) > 0,
              f"{a['lines_method']} ({len(a['lines'])} lines of {a['sector_dimension']}), {d['lines_method']}")
        check(f"{name}: no ARPACK line dropped, every residual small", a["lines_dropped"] == 0 and a["lines_residual"] <= 1e-9,
              f"{a['lines_dropped']} dropped, largest residual {a['lines_residual']:.2e}")
        ld = np.array([eig(l) for l in d["lines"]])
        wd = np.array([[w["re"] + 1j * w["im"] for w in l["weights"]] for l in d["lines"]])
        scale = np.max(np.abs(ld))
        de, dw = 0.0, 0.0
        for l in a["lines"]:
            lam = eig(l)
            near = np.abs(ld - lam) <= 1e-8 * scale          # a degenerate eigenvalue: compare the cluster's sum
            k = np.argmin(np.abs(ld - lam))
            de = max(de, abs(ld[k] - lam) / scale)
            mine = sum(np.array([w["re"] + 1j * w["im"] for w in m["weights"]]) for m in a["lines"] if abs(eig(m) - lam) <= 1e-8 * scale)
            dw = max(dw, np.max(np.abs(mine - wd[near].sum(axis=0))) if near.any() else np.inf)
        check(f"{name}: every ARPACK line (frequency, half-width) is a dense eigenvalue", de <= LINES_TOL,
              f"largest distance {de:.2e} of max|lambda| = {scale:.3g} (tolerance {LINES_TOL:g})")
        check(f"{name}: the ARPACK weights equal the dense ones", dw <= LINES_TOL,
              f"largest difference {dw:.2e} (tolerance {LINES_TOL:g}; weights up to {np.max(np.abs(wd)):.3g})")
        for key in ("relaxation_rate", "coherence_rate"):
            e = abs(a[key] - d[key]) / d[key] if d[key] else np.inf
            check(f"{name}: ARPACK {key} equals the dense one", e <= 1e-10, f"{a[key]:.15g} against {d[key]:.15g}, relative {e:.1e}")
        for j, o in enumerate(a["oscillators"]):
            s = sum(l["weights"][j]["re"] for l in a["lines"]) / o["mean_n"]
            check(f"{name} {o['name']}: lines_captured is sum_m Re w_jm / <n> of the lines found",
                  abs(s - o["lines_captured"]) <= 1e-12 and abs(d["oscillators"][j]["lines_captured"] - 1) <= SUM_TOL,
                  f"{o['lines_captured']:.12f} (recomputed {s:.12f}; dense {d['oscillators'][j]['lines_captured']:.12f})")
    # uncoupled: every line of weight is a bare transition, so the shifts find them all
    model = os.path.join(MODELS, "peer_unequal.ini")
    try:
        a = spectrum_json(model, "--set", "a-b=0", "--lines", "--dense-max", "10")
        omega = np.array(a["omega"])
        for j, o in enumerate(a["oscillators"]):
            check(f"uncoupled {o['name']}, ARPACK: the lines carry all of <n>", abs(o["lines_captured"] - 1) <= SUM_TOL,
                  f"captured {o['lines_captured']:.12f} (tolerance {SUM_TOL:g})")
            mine = np.array(o["spectrum"])
            e = np.max(np.abs(lines_sum(a["lines"], j, omega) - mine)) / np.max(mine)
            check(f"uncoupled {o['name']}, ARPACK: the lines' sum equals the direct solve", e <= LINES_TOL,
                  f"largest difference {e:.2e} of the peak (tolerance {LINES_TOL:g})")
    except Exception as e:
        check("uncoupled ARPACK lines", False, str(e))

    # ---- the iterative path (GMRES preconditioned by the uncoupled Liouvillian) against QuTiP:
    # a ring of four with complex couplings (identical oscillators: one solve per orbit) ----
    model = os.path.join(MODELS, "peer_ring.ini")
    try:
        q = spectrum_json(model, "--omega", "-20:15:61", "--spectrum-solver", "iterative")
        d = spectrum_json(model, "--omega", "-20:15:61", "--spectrum-solver", "direct")
        omega = np.array(q["omega"])
        ref, _, names = qutip_spectra(model, [], omega)
        check("peer_ring: the iterative solver was used", q["solver"] == "iterative" and d["solver"] == "direct",
              f"{q['solver']}, {d['solver']}")
        for j, o in enumerate(q["oscillators"]):
            mine = np.array(o["spectrum"])
            rel = np.max(np.abs(mine - ref[j]) / np.abs(ref[j]))
            check(f"peer_ring {o['name']}: iterative S(omega) against QuTiP's Liouvillian at {len(omega)} frequencies",
                  rel <= PEER_TOL, f"largest relative difference {rel:.2e} (tolerance {PEER_TOL:g})")
            rel = np.max(np.abs(mine - np.array(d["oscillators"][j]["spectrum"])) / np.abs(ref[j]))
            check(f"peer_ring {o['name']}: iterative against direct", rel <= 1e-9, f"largest relative difference {rel:.2e} (tolerance 1e-09)")
        check("peer_ring: residual of every solve reported and small", q["residual"] <= 1e-10, f"{q['residual']:.2e}")
    except Exception as e:
        check("peer_ring: iterative spectrum against QuTiP", False, str(e))

    # ---- the exact uncoupled spectrum; the refined peak and width against a dense grid ----
    model = os.path.join(MODELS, "peer_unequal.ini")
    try:
        q = spectrum_json(model, "--set", "a-b=0", "--lines")
        st = steady_json(model, "--set", "a-b=0")
        omega = np.array(q["omega"])
        for j, osc in enumerate(st["oscillators"]):
            S, mean = exact_uncoupled(osc, omega)
            mine = np.array(q["oscillators"][j]["spectrum"])
            rel = np.max(np.abs(mine - S) / S)
            check(f"uncoupled {osc['name']}: S(omega) against the exact sum of Lorentzians", rel <= EXACT_TOL,
                  f"largest relative difference {rel:.2e} (tolerance {EXACT_TOL:g})")
            e = abs(q["oscillators"][j]["mean_n"] - mean) / mean
            check(f"uncoupled {osc['name']}: <n> against detailed balance", e <= EXACT_TOL, f"relative {e:.1e}")
            top = max(q["lines"], key=lambda l: abs(l["weights"][j]["re"]))
            check(f"uncoupled {osc['name']}: a free line sits at v_n = omega - 2K(n-1) (QuTiP's sign: +omega)",
                  any(abs(top["frequency"] - (osc["omega"] - 2 * osc["K"] * (n - 1))) < 1e-9 for n in range(1, osc["levels"])),
                  f"strongest line at {top['frequency']:.12g}")
    except Exception as e:
        check("uncoupled spectrum", False, str(e))

    try:
        coarse = spectrum_json(model, "--omega", "-30:20:201")
        for j, o in enumerate(coarse["oscillators"]):
            peak, fwhm = o["peak_frequency"], o["fwhm"]
            grid = np.array(coarse["omega"])
            step = grid[1] - grid[0]
            off = np.min(np.abs(grid - peak))
            fine = spectrum_json(model, "--omega", f"{peak - 2 * step}:{peak + 2 * step}:4001")
            fo, fs = np.array(fine["omega"]), np.array(fine["oscillators"][j]["spectrum"])
            best = fo[np.argmax(fs)]
            h = fo[1] - fo[0]
            check(f"peak of {o['name']}: refined off the grid agrees with a dense grid's maximum",
                  abs(best - peak) <= h and off > 1e-6 * step,
                  f"refined {peak:.10f} (grid spacing {step:g}, {off:.3g} from the nearest point), dense grid {best:.10f} (spacing {h:.2g})")
            check(f"peak height of {o['name']} at least the dense grid's", o["peak_height"] >= np.max(fs) * (1 - 1e-12),
                  f"{o['peak_height']:.12e} against {np.max(fs):.12e}")
            # the half-height crossings nearest the peak on a dense grid (linear interpolation)
            z = spectrum_json(model, "--omega", f"{peak - 1.5 * fwhm}:{peak + 1.5 * fwhm}:30001")
            zo, zs = np.array(z["omega"]), np.array(z["oscillators"][j]["spectrum"]) - 0.5 * o["peak_height"]
            k = np.nonzero(np.sign(zs[:-1]) != np.sign(zs[1:]))[0]
            cross = zo[k] - zs[k] * (zo[k + 1] - zo[k]) / (zs[k + 1] - zs[k])
            left, right = cross[cross < peak], cross[cross > peak]
            dense = right.min() - left.max() if len(left) and len(right) else np.nan
            check(f"FWHM of {o['name']} against the half-height crossings on a dense grid", abs(dense - fwhm) <= 1e-6 * fwhm,
                  f"{fwhm:.10f} against {dense:.10f}")
    except Exception as e:
        check("refined peak and FWHM", False, str(e))

    # ---- gamma = 0: a coherence that never decays is refused ----
    r = run(["spectrum", model, "--set", "gamma_plus=0", "--set", "gamma_minus=0", "--omega", "-5:5:11"])
    check("gamma = 0: the command refuses (exit 3) with a reason, no numbers",
          r.returncode == 3 and r.stdout == "" and "qsync:" in r.stderr, f"exit {r.returncode}: {r.stderr.strip()[:200]}")
    try:
        lib = ctypes.CDLL(LIB)

        class Err(ctypes.Structure):
            _fields_ = [("status", ctypes.c_int), ("message", ctypes.c_char * 512)]

        vp = ctypes.c_void_p
        for f, res, args in (("qs_model_load", ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(vp), ctypes.POINTER(Err)]),
                             ("qs_model_set", ctypes.c_int, [vp, ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(Err)]),
                             ("qs_analysis_run", ctypes.c_int, [vp, vp, ctypes.POINTER(vp), ctypes.POINTER(Err)]),
                             ("qs_analysis_state", vp, [vp]),
                             ("qs_spectrum_run", ctypes.c_int, [vp, vp, vp, ctypes.POINTER(vp), ctypes.POINTER(Err)])):
            getattr(lib, f).restype = res
            getattr(lib, f).argtypes = args
        err = Err()
        m, m0, an, s = vp(), vp(), vp(), vp()
        ok = lib.qs_model_load(model.encode(), ctypes.byref(m), ctypes.byref(err)) == 0
        ok = ok and lib.qs_model_load(model.encode(), ctypes.byref(m0), ctypes.byref(err)) == 0
        ok = ok and lib.qs_analysis_run(m, None, ctypes.byref(an), ctypes.byref(err)) >= 0
        for key in ("a.gamma_plus", "a.gamma_minus", "b.gamma_plus", "b.gamma_minus"):
            ok = ok and lib.qs_model_set(m0, key.encode(), b"0", ctypes.byref(err)) == 0
        status = lib.qs_spectrum_run(m0, lib.qs_analysis_state(an), None, ctypes.byref(s), ctypes.byref(err)) if ok else None
        msg = err.message.decode()
        check("gamma = 0: qs_spectrum_run refuses with QS_ENUMERIC and a reason", ok and status == -4 and not s.value and "decay" in msg,
              f"status {status}: {msg}")
    except Exception as e:
        check("gamma = 0: qs_spectrum_run refuses", False, str(e))

    # ---- --out: the CSV files by header name, equal to the JSON; the plot names its columns ----
    try:
        import csv
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "spec")
            q = spectrum_json(small_model := os.path.join(MODELS, "peer_unequal.ini"), "--omega", "-10:10:201", "--lines", "--out", out)
            with open(os.path.join(out, "spectrum.csv"), newline="") as f:
                rows = list(csv.DictReader(f))
            ok = len(rows) == 201 and all(
                float(rows[i]["omega"]) == q["omega"][i] and
                all(float(rows[i][f"spectrum_{o['name']}"]) == o["spectrum"][i] for o in q["oscillators"]) for i in range(201))
            check("--out: spectrum.csv has omega and spectrum_<name> columns equal to the JSON", ok, f"{len(rows)} rows")
            with open(os.path.join(out, "lines.csv"), newline="") as f:
                lines = list(csv.DictReader(f))
            ok = len(lines) == len(q["lines"]) and all(float(a["frequency"]) == b["frequency"] and
                                                          float(a["weight_re_a"]) == b["weights"][0]["re"] for a, b in zip(lines, q["lines"]))
            check("--out --lines: lines.csv has every line, equal to the JSON", ok, f"{len(lines)} lines")
            check_pair(os.path.join(out, "spectrum.gp"), os.path.join(out, "spectrum.csv"), "spectrum.gp")
    except Exception as e:
        check("--out files", False, str(e))

    # ---- bad input: a message naming the flag, exit 2, nothing on stdout ----
    small = os.path.join(MODELS, "peer_unequal.ini")
    for args, word in ((["--omega", "5:1:10"], "--omega"), (["--omega", "1:5"], "--omega"), (["--omega", "1:5:1"], "--omega"),
                       (["--omega", "a:5:10"], "--omega"), (["--spectrum-solver", "lu"], "--spectrum-solver"),
                       (["--dense-max", "0"], "--dense-max"), (["--dense-max", "x"], "--dense-max"), (["--bogus"], "--bogus"), (["--threads", "0"], "--threads"), (["--full"], "--full")):
        r = run(["spectrum", small] + args)
        check(f"spectrum {' '.join(args)}: exit 2 naming {word}", r.returncode == 2 and word in r.stderr and r.stdout == "",
              f"exit {r.returncode}: {r.stderr.strip().splitlines()[0][:120] if r.stderr.strip() else ''}")
    r = run(["spectrum"])
    check("spectrum without a model: exit 2", r.returncode == 2 and "no model file" in r.stderr, f"exit {r.returncode}")
    r = run(["spectrum", os.path.join(MODELS, "missing.ini")])
    check("spectrum of a missing file: exit 2", r.returncode == 2, f"exit {r.returncode}: {r.stderr.strip()[:120]}")

    # ---- hostile grids and parameters ----
    fig = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "fig2b.ini"))
    try:
        # a line narrower than the grid spacing: the FWHM on three points equals the default grid's
        d = spectrum_json(small)
        o = d["oscillators"][0]
        p, f = o["peak_frequency"], o["fwhm"]
        c = spectrum_json(small, "--omega", f"{p - 3.3 * f}:{p + 2.7 * f}:3")["oscillators"][0]
        check("a line narrower than the grid spacing: FWHM on 3 points equals the default grid's (1e-6), with an unresolved warning",
              c["fwhm"] is not None and abs(c["fwhm"] - f) <= 1e-6 * f and any("not resolved" in w for w in c["warnings"]),
              f"{c['fwhm']} against {f}; {c['warnings']}")
        check("default grid: no warning on a resolved, well-covered line", all(not x["warnings"] for x in d["oscillators"]),
              str([x["warnings"] for x in d["oscillators"]]))
        # nbar = 1e6: lines of half-width ~1e-12 (the dense lines' -Re lambda) at |omega| ~ 100, far narrower than the
        # grid and than doubles resolve beside ||L||: never a negative width; either null with that reason, or
        # positive with S at peak +- FWHM/2 half the height (1e-6)
        n6 = spectrum_json(fig, "--set", "nbar=1e6")
        for x in n6["oscillators"]:
            w = x["fwhm"]
            if w is None:
                ok = x["peak_frequency"] is None and any("too narrow" in t for t in x["warnings"])
            else:
                e = spectrum_json(fig, "--set", "nbar=1e6", "--omega", f"{x['peak_frequency'] - w / 2!r}:{x['peak_frequency'] + w / 2!r}:2")
                ends = e["oscillators"][[y["name"] for y in e["oscillators"]].index(x["name"])]["spectrum"]
                ok = w > 0 and all(abs(v - 0.5 * x["peak_height"]) <= 1e-6 * x["peak_height"] for v in ends)
            check(f"nbar = 1e6, oscillator {x['name']}: FWHM null with a reason, or > 0 with S(peak +- FWHM/2) half the height",
                  ok and any("sum rule" in t for t in x["warnings"]), f"fwhm {w}, height {x['peak_height']}, warnings {x['warnings']}")
    except Exception as e:
        check("narrow lines", False, str(e))
    for args in (["--omega", "-1e308:1e308:3"], ["--omega", "1:1.0000000000000002:3"], ["--omega", "0:1:1000001"],
                 ["--omega", "-inf:1:3"]):
        r = run(["spectrum", small] + args)
        check(f"spectrum {' '.join(args)}: exit 2 naming --omega", r.returncode == 2 and "--omega" in r.stderr and r.stdout == "",
              f"exit {r.returncode}: {r.stderr.strip()[:160]}")
    r = run(["spectrum", small, "--set", "a.omega=1e300"])
    check("default range of omega = 1e300: refused (exit 2), no numbers", r.returncode == 2 and r.stdout == "" and "range" in r.stderr,
          f"exit {r.returncode}: {r.stderr.strip()[:160]}")
    r = run(["sweep", small, "--vary", "a.omega=1:2:2", "--spectrum", "-1e308:1e308:3"])
    check("sweep --spectrum -1e308:1e308:3: exit 2 naming --spectrum", r.returncode == 2 and "--spectrum" in r.stderr,
          f"exit {r.returncode}: {r.stderr.strip()[:160]}")
    try:
        lib = ctypes.CDLL(LIB)
        lib.qs_spectrum_check_grid.argtypes = [ctypes.c_double, ctypes.c_double, ctypes.c_int, ctypes.c_void_p]
        got = [lib.qs_spectrum_check_grid(a, b, n, None) for a, b, n in
               ((-1e308, 1e308, 3), (0, 1, 1000001), (1, 1 + 2 ** -52, 3), (0, 1, 1000000), (-1e300, 1e300, 5))]
        check("qs_spectrum_check_grid: overflowing, too many and indistinct points refused (QS_EINPUT); 1e6 points accepted",
              got == [-1, -1, -1, 0, 0], str(got))
    except Exception as e:
        check("qs_spectrum_check_grid", False, str(e))
    try:
        z = spectrum_json(fig, "--set", "gamma_plus=0", "--set", "gamma_minus=1", "--levels", "5")
        ok = all(x["mean_n"] == 0 and x["peak_frequency"] is None and x["peak_height"] is None and x["fwhm"] is None
                 and any("zero" in w for w in x["warnings"]) for x in z["oscillators"])
        t = run(["spectrum", fig, "--set", "gamma_plus=0", "--set", "gamma_minus=1", "--levels", "5"])
        check("S = 0 (gamma_plus = 0): peak, height, FWHM null with a note; the text ratio is n/a",
              ok and t.returncode == 0 and "n/a" in t.stdout and "-nan" not in t.stdout, str([x["warnings"] for x in z["oscillators"]]))
        g = run(["spectrum", fig, "--omega", "-100:100:3", "--json"])
        gj = json.loads(g.stdout)
        ends = [x for x in gj["oscillators"] if any("grid's end" in w for w in x["warnings"])]
        sums = [x for x in gj["oscillators"] if any("sum rule" in w for w in x["warnings"])]
        check("--omega -100:100:3: warned (peak at the grid's end, sum rule off <n>) in JSON and on stderr",
              len(ends) >= 1 and len(sums) == 2 and "warning" in g.stderr, str([x["warnings"] for x in gj["oscillators"]]))
        k = spectrum_json(fig, "--set", "K=1e14", "--omega", "-50:50:11")
        check("K = 1e14: relaxation and coherence rates positive or null (not resolved), never negative",
              all(k[r] is None or k[r] > 0 for r in ("relaxation_rate", "coherence_rate")),
              f"{k['relaxation_rate']}, {k['coherence_rate']}")
    except Exception as e:
        check("zero spectrum, coarse grid, rates", False, str(e))
    # --lines above the dense limit: the ARPACK path, with how much of <n> its lines carry
    fig4 = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "fig4.ini"))
    r = run(["spectrum", fig4, "--levels", "6", "--lines", "--omega", "-10:10:3", "--json"])
    try:
        q = json.loads(r.stdout) if r.returncode == 0 else {}
        ok = (q.get("lines_method") == "arpack" and q["sector_dimension"] > 2000 and len(q["lines"]) > 0 and q["lines_dropped"] == 0
              and all(0 < o["lines_captured"] < 2 for o in q["oscillators"]))
        detail = f"{q.get('lines_method')}, {len(q.get('lines', []))} lines of {q.get('sector_dimension')}, captured " + \
            str([round(o["lines_captured"], 6) for o in q.get("oscillators", [])])
    except Exception as e:
        ok, detail = False, f"exit {r.returncode}: {e}"
    check("--lines above dense_max: ARPACK lines (lines_method arpack), none dropped, the captured fraction reported", ok, detail)
    # Ctrl-C: exit 130, nothing written, the folder not created
    try:
        import signal
        import tempfile
        import time
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "D")
            pr = subprocess.Popen([QSYNC, "spectrum", fig, "--omega", "-50:50:1000000", "--out", out],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(1.5)
            pr.send_signal(signal.SIGINT)
            so, se = pr.communicate(timeout=60)
            check("SIGINT: exit 130, 'nothing written', the --out folder not created",
                  pr.returncode == 130 and "nothing written" in se and not os.path.exists(out), f"exit {pr.returncode}: {se.strip()[-160:]}")
            # a run without --lines removes the lines.csv of an earlier run; spectrum.json records the run
            spectrum_json(small, "--omega", "-10:10:21", "--lines", "--out", out)
            had = os.path.exists(os.path.join(out, "lines.csv"))
            spectrum_json(small, "--omega", "-10:10:21", "--out", out)
            with open(os.path.join(out, "spectrum.json")) as fh:
                desc = json.load(fh)
            check("--out: a run without --lines leaves no lines.csv of an earlier run; spectrum.json records command, model and grid",
                  had and not os.path.exists(os.path.join(out, "lines.csv")) and desc["command_line"][1] == "spectrum"
                  and desc["grid"]["points"] == 21 and len(desc["model"]["oscillators"]) == 2 and desc["lines"] is False, str(desc.get("grid")))
    except Exception as e:
        check("Ctrl-C and --out", False, str(e))

    # ---- thread count ----
    try:
        model3 = os.path.join(MODELS, "peer_three.ini")
        outs = [spectrum_json(model3, "--omega", "-40:35:401", "--threads", str(t), env=dict(os.environ, OMP_NUM_THREADS=str(t))) for t in (1, 2)]
        same = all(a["spectrum"] == b["spectrum"] and a["peak_frequency"] == b["peak_frequency"] and a["fwhm"] == b["fwhm"]
                   for a, b in zip(outs[0]["oscillators"], outs[1]["oscillators"]))
        check("1 and 2 threads: bit-identical spectra, peaks and widths", same)
    except Exception as e:
        check("thread count", False, str(e))
    finish()


if __name__ == "__main__":
    main()
