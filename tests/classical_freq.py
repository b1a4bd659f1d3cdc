#!/usr/bin/env python3
"""qsync classical: observed frequencies nu_j = -<d arg alpha_j/dt> and beat frequencies
(MODEL.md section 9) against the exact stationary density, symmetry, the far-detuned limit
and frequency locking; honest errors; thread counts; sweep columns. One PASS/FAIL line per check."""
import csv
import json
import math
import os
import subprocess
import sys
import tempfile

from scipy.integrate import quad

from checks import check, finish

QSYNC = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="qsync-freq-")


def model_file(text, name):
    path = os.path.join(TMP, name + ".ini")
    with open(path, "w") as f:
        f.write(text)
    return path


def run(path, *args):
    r = subprocess.run([QSYNC, "classical", path, "--json", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"qsync classical {path} {' '.join(args)}: exit {r.returncode}: {r.stderr}")
    return json.loads(r.stdout), r.stdout


# ---- the exact frequency of an uncoupled oscillator ----
# Two uncoupled oscillators with gamma_T > 0: the stationary density of x = |alpha|^2 is exactly
# p(x) ~ exp(-(G(x) + gamma_T x)/D), G(x) = int_0^x Gamma, Gamma = g- f-(x) - g+ f+(x) (MODEL.md
# section 3), and nu_j = <Omega_j(x)> = omega_j - 2 K_j <x>.
OSC = {"a": dict(omega=1.5, K=2.0, sigma=0.2, nbar=2.0, noise=0.1, gamma_T=0.3),
       "b": dict(omega=-0.7, K=1.0, sigma=0.3, nbar=3.0, noise=0.15, gamma_T=0.2)}
UNCOUPLED = "".join(f"[oscillator {name}]\n" + "".join(f"{k} = {v}\n" for k, v in p.items()) for name, p in OSC.items())


def exact_nu(p):
    s, npl, nmi, D, gT = p["sigma"], p["nbar"], p["nbar"] + 1, p["noise"], p["gamma_T"]

    def G(x):
        return (s * (math.atan((x - nmi) / s) + math.atan(nmi / s)) - s * (math.atan((x - npl) / s) + math.atan(npl / s))
                + gT * x)

    top = 60.0                      # exp(-gamma_T x / D) is below 1e-50 of its peak beyond
    brk = [npl, nmi]
    weight = lambda x: math.exp(-(G(x) - G(npl)) / D)
    z = quad(weight, 0, top, points=brk, limit=400, epsabs=0, epsrel=1e-12)[0]
    mx = quad(lambda x: x * weight(x), 0, top, points=brk, limit=400, epsabs=0, epsrel=1e-12)[0] / z
    return p["omega"] - 2 * p["K"] * mx


unc = model_file(UNCOUPLED, "uncoupled")
exact = {name: exact_nu(p) for name, p in OSC.items()}
d, _ = run(unc, "--cutoff", "1000", "--trajectories", "4096", "--burn-in", "60", "--time", "300")
for o in d["oscillators"]:
    nu, err, ex = o["nu"], o["nu_err"], exact[o["name"]]
    check(f"uncoupled oscillator {o['name']}: nu = <Omega(|alpha|^2)> over the exact stationary density (|diff| < 4 nu_err)",
          err > 0 and abs(nu - ex) < 4 * err, f"nu = {nu:.5f} +- {err:.5f}, exact {ex:.5f}, diff {nu - ex:+.5f}")
p = d["pairs"][0]
ex_beat = exact["a"] - exact["b"]
check("uncoupled pair: beat = nu_a - nu_b of the exact frequencies (|diff| < 4 beat_err)",
      p["beat_err"] > 0 and abs(p["beat"] - ex_beat) < 4 * p["beat_err"],
      f"beat = {p['beat']:.5f} +- {p['beat_err']:.5f}, exact {ex_beat:.5f}")
osc = {o["name"]: o for o in d["oscillators"]}
check("beat is the difference of the reported nu_a and nu_b (to rounding)",
      abs(p["beat"] - (osc["a"]["nu"] - osc["b"]["nu"])) <= 1e-12 * abs(p["beat"]) + 1e-14)

# a fast rotation (|Omega| dt near pi per step, more than pi between the states read around a
# sample): the rotation is counted whole, never wrapped; the other oscillator's nu is unchanged
W = 150.0
d, _ = run(unc, "--set", f"a.omega={OSC['a']['omega'] + W}", "--cutoff", "1000", "--trajectories", "2048", "--burn-in", "60",
           "--time", "150")
o = next(o for o in d["oscillators"] if o["name"] == "a")
check(f"omega_a raised by {W:g} (|Omega| dt = {(W + 1.5) * 0.02:.1f}): nu_a raised by {W:g} (|diff| < 4 nu_err)",
      abs(o["nu"] - (exact["a"] + W)) < 4 * o["nu_err"], f"nu = {o['nu']:.5f} +- {o['nu_err']:.5f}, exact {exact['a'] + W:.5f}")

# ---- the reported errors are the scatter of independent estimates, and the mean has no bias ----
SEEDS = 24
runs = [run(unc, "--cutoff", "1000", "--trajectories", "512", "--burn-in", "60", "--time", "150", "--seed", str(s))[0]
        for s in range(1, SEEDS + 1)]


def spread(values):
    m = sum(values) / len(values)
    return m, math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))


for name in OSC:
    nus = [next(o for o in r["oscillators"] if o["name"] == name) for r in runs]
    mean, sd = spread([o["nu"] for o in nus])
    err = sum(o["nu_err"] for o in nus) / SEEDS
    check(f"oscillator {name}: nu_err is the scatter of {SEEDS} independent seeds (ratio within 0.6..1.6)",
          0.6 * sd < err < 1.6 * sd, f"scatter {sd:.5f}, mean nu_err {err:.5f}")
    check(f"oscillator {name}: the mean of {SEEDS} seeds agrees with the exact nu (within 4 standard errors)",
          abs(mean - exact[name]) < 4 * sd / math.sqrt(SEEDS), f"mean {mean:.5f} +- {sd / math.sqrt(SEEDS):.5f}, exact {exact[name]:.5f}")
mean, sd = spread([r["pairs"][0]["beat"] for r in runs])
err = sum(r["pairs"][0]["beat_err"] for r in runs) / SEEDS
check(f"uncoupled pair: beat_err is the scatter of {SEEDS} independent seeds (ratio within 0.6..1.6)",
      0.6 * sd < err < 1.6 * sd, f"scatter {sd:.5f}, mean beat_err {err:.5f}")

# ---- coupled pairs at the Fig. 2a parameters (gamma_T = 0: the quasi-stationary ensemble) ----
PAIR = ("[defaults]\nK = 2\nsigma = 0.2\nnbar = 2\nnoise = 0.1\n[oscillator 1]\nomega = {d}\n[oscillator 2]\n"
        "[coupling]\n1-2 = {V}\n")


def pair(dd, V, *args):
    r, _ = run(model_file(PAIR.format(d=dd, V=V), f"pair_{dd}_{V}"), *args)
    return r["pairs"][0]


# identical oscillators: the pair is symmetric under exchange, so the beat vanishes on average
p = pair(0, 0.05)
check("identical oscillators (Delta = 0, V = 0.05): beat consistent with 0 (|beat| < 4 beat_err)",
      p["beat_err"] > 0 and abs(p["beat"]) < 4 * p["beat_err"], f"beat = {p['beat']:.5f} +- {p['beat_err']:.5f}")

# far detuned, weakly coupled: the beat is the bare detuning (the coupling pulls it by ~V^2/Delta)
DD, V = 20.0, 0.05
p = pair(DD, V)
check(f"Delta = {DD:g}, V = {V}: beat = Delta (|beat - Delta| < 4 beat_err + 2 V^2/Delta)",
      abs(p["beat"] - DD) < 4 * p["beat_err"] + 2 * V * V / DD, f"beat = {p['beat']:.5f} +- {p['beat_err']:.5f}")

# locking: well inside the Arnold tongue the frequencies lock, outside the beat is about Delta
p = pair(0.3, 0.5)
check("inside the tongue (Delta = 0.3, V = 0.5): locked, |beat| < 4 beat_err and < Delta/10",
      abs(p["beat"]) < 4 * p["beat_err"] and abs(p["beat"]) < 0.03, f"beat = {p['beat']:.5f} +- {p['beat_err']:.5f}")
p = pair(3.0, 0.05)
check("outside the tongue (Delta = 3, V = 0.05): beat within 5% of Delta, far from 0",
      abs(p["beat"] - 3.0) < 0.15 and p["beat"] > 10 * p["beat_err"], f"beat = {p['beat']:.5f} +- {p['beat_err']:.5f}")

# ---- bit-identical for any thread count (300 trajectories: other batches of chunks) ----
path = model_file(PAIR.format(d=1, V=0.05), "threads")
keys = lambda r: ([(o["nu"], o["nu_err"]) for o in r["oscillators"]], [(q["beat"], q["beat_err"]) for q in r["pairs"]])
k1 = keys(run(path, "--threads", "1", "--trajectories", "300")[0])
k2 = keys(run(path, "--threads", "2", "--trajectories", "300")[0])
check("--threads 1 and 2: identical nu, nu_err, beat, beat_err", k1 == k2, f"{k1} vs {k2}")

# ---- qsync sweep --classical: the columns are qsync classical's values at the same point ----
out = os.path.join(TMP, "sweep")
r = subprocess.run([QSYNC, "sweep", path, "--classical", "--vary", "1.omega=0,0.7", "--trajectories", "256", "--out", out,
                    "--no-plot"], capture_output=True, text=True)
rows = list(csv.DictReader(open(os.path.join(out, "sweep.csv")))) if r.returncode == 0 else []
ok, why = len(rows) == 2, f"exit {r.returncode}: {r.stderr.strip()[:200]}"
for row in rows:
    c, _ = run(path, "--set", f"1.omega={row['1.omega']}", "--trajectories", "256")
    want = {f"nu_{o['name']}": o["nu"] for o in c["oscillators"]}
    want.update({f"nu_err_{o['name']}": o["nu_err"] for o in c["oscillators"]})
    want.update({f"beat_{q['a']}-{q['b']}": q["beat"] for q in c["pairs"]})
    want.update({f"beat_err_{q['a']}-{q['b']}": q["beat_err"] for q in c["pairs"]})
    bad = [k for k, v in want.items() if k not in row or float(row[k]) != v]
    ok = ok and not bad and len(want) == 6
    why = f"columns differing at 1.omega = {row['1.omega']}: {bad}" if bad else why
header = list(rows[0].keys()) if rows else []
check("sweep --classical: nu_<j>, nu_err_<j>, beat_<a>-<b>, beat_err_<a>-<b> equal qsync classical --json bit for bit",
      ok, why)
check("sweep --classical: the frequency columns come last, after phi_<a>-<b>",
      header[-7:] == ["phi_1-2", "nu_1", "nu_2", "nu_err_1", "nu_err_2", "beat_1-2", "beat_err_1-2"], f"{header}")

finish()
