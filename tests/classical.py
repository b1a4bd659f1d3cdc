#!/usr/bin/env python3
"""qsync classical: exact stationary densities, the quasi-stationary ensemble, errors,
reproducibility, time-step bias, and the shape of Fig. 2a. One PASS/FAIL line per check."""
import json
import math
import os
import subprocess
import sys
import tempfile

from checks import check, finish

QSYNC = sys.argv[1]


def run(model_text, *args):
    with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as f:
        f.write(model_text)
        path = f.name
    try:
        r = subprocess.run([QSYNC, "classical", path, "--json", *args], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
        return json.loads(r.stdout), r.stdout
    finally:
        os.unlink(path)


ONE = "[oscillator x]\nK = 2\nsigma = 0.2\nnbar = 2\nnoise = 0.1\ngamma_T = {gT}\n"
FIG2A = ("[defaults]\nK = 2\nsigma = 0.2\nnbar = 2\nnoise = 0.1\ngamma_T = {gT}\n[oscillator 1]\nomega = {d}\n"
         "[oscillator 2]\n[coupling]\n1-2 = {V}\n")


def G(x, s=0.2, npl=2.0, nmi=3.0, g=1.0):
    """G(x) = integral of Gamma from 0 to x (MODEL.md section 3)"""
    return g * s * (math.atan((x - nmi) / s) + math.atan(nmi / s)) - g * s * (math.atan((x - npl) / s) + math.atan(npl / s))


def expected_bins(gT, D, bins, xmax, lo=0.0, hi=None):
    """probabilities of the bins under p(x) ~ exp(-(G + gT x)/D), normalised on [lo, hi)"""
    hi = xmax if hi is None else hi
    w = xmax / bins
    def p(x):
        return math.exp(-(G(x) + gT * x) / D)
    probs = []
    for b in range(bins):
        a = b * w
        probs.append(sum(p(a + (k + 0.5) * w / 200) for k in range(200)) * w / 200 if lo <= a and a + w <= hi else 0.0)
    tot = sum(probs)
    return [q / tot for q in probs]


def chi2(hist, probs):
    n = sum(h for h, q in zip(hist, probs) if q > 0)
    stat, dof = 0.0, -1
    for h, q in zip(hist, probs):
        e = n * q
        if e >= 20:
            stat += (h - e) ** 2 / e
            dof += 1
    return stat, dof


# 1. one oscillator with gamma_T > 0: the exact stationary density of |alpha|^2
bins, xmax = 30, 6.0
d, _ = run(ONE.format(gT=0.3), "--cutoff", "1000", "--trajectories", "4096", "--burn-in", "60", "--time", "400",
           "--sample-every", "20", "--histogram", f"{bins}:{xmax}")
hist = d["oscillators"][0]["histogram"]
stat, dof = chi2(hist, expected_bins(0.3, 0.1, bins, xmax))
limit = dof + 5 * math.sqrt(2 * dof)
check(f"gamma_T = 0.3: density of |alpha|^2 matches exp(-(G + gamma_T x)/D) (chi2 {stat:.1f} on {dof} dof, limit {limit:.1f})",
      stat < limit, f"{sum(hist):.0f} samples")

# 2. gamma_T = 0: the quasi-stationary density inside the basin (x < 4, well below the cutoff 8)
d, _ = run(ONE.format(gT=0), "--cutoff", "8", "--trajectories", "4096", "--burn-in", "60", "--time", "400",
           "--sample-every", "20", "--histogram", f"{bins}:{xmax}")
hist = d["oscillators"][0]["histogram"]
probs = expected_bins(0.0, 0.1, bins, xmax, 0.0, 4.0)
stat, dof = chi2([h if q > 0 else 0 for h, q in zip(hist, probs)], probs)
limit = dof + 5 * math.sqrt(2 * dof)
check(f"gamma_T = 0: quasi-stationary density inside the basin matches exp(-G/D) (chi2 {stat:.1f} on {dof} dof, limit {limit:.1f})",
      stat < limit, f"escaped fraction {d['escaped_fraction']:.3f}")

# 3. escapes grow with time at the Fig. 2a parameters; gamma_T large enough confines
short, _ = run(FIG2A.format(gT=0, d=0, V=0.05), "--time", "100")
long_, _ = run(FIG2A.format(gT=0, d=0, V=0.05), "--time", "400")
check("Fig. 2a parameters: the escaped fraction grows with the run length",
      long_["escaped_fraction"] > short["escaped_fraction"] + 0.1,
      f"{short['escaped_fraction']:.3f} after 150, {long_['escaped_fraction']:.3f} after 450")
check("cutoff reported with every result", short["cutoff"] == 8)
# (gamma_T above ~0.006 also makes alpha = 0 weakly stable; 0.05 keeps the cycle populated)
s1, _ = run(FIG2A.format(gT=0.05, d=0, V=0.05), "--time", "100", "--cutoff", "1000")
s2, _ = run(FIG2A.format(gT=0.05, d=0, V=0.05), "--time", "400", "--cutoff", "1000")
a, b = s1["pairs"][0], s2["pairs"][0]
dev = abs(a["S"] - b["S"]) / max(math.hypot(a["S_err"], b["S_err"]), 1e-300)
check("gamma_T = 0.05 confines: no escapes, S > 0.5, and S does not depend on the run length (within 3 sigma)",
      s1["escaped_fraction"] == 0 and s2["escaped_fraction"] == 0 and a["S"] > 0.5 and dev < 3,
      f"S = {a['S']:.4f} +- {a['S_err']:.4f} vs {b['S']:.4f} +- {b['S_err']:.4f}")

# 4. uncoupled oscillators: S consistent with 0
u, _ = run(FIG2A.format(gT=0, d=0, V=0))
p = u["pairs"][0]
check("uncoupled: S consistent with 0 (S <= 3 S_err, or no harmonic above the noise)", p["S"] <= 3 * p["S_err"] + 1e-12,
      f"S = {p['S']:.5f} +- {p['S_err']:.5f}, {p['harmonics']} harmonics")

# 5. same seed: bit-identical output with 1 and 2 threads
o1 = run(FIG2A.format(gT=0, d=1, V=0.05), "--threads", "1", "--seed", "7")[1]
o2 = run(FIG2A.format(gT=0, d=1, V=0.05), "--threads", "2", "--seed", "7")[1]
strip = lambda s: "\n".join(l for l in s.splitlines() if '"seconds"' not in l and '"model"' not in l)
check("same seed, 1 and 2 threads: identical output", strip(o1) == strip(o2))
o3 = run(FIG2A.format(gT=0, d=1, V=0.05), "--threads", "2", "--seed", "8")[1]
check("another seed: different output", strip(o1) != strip(o3))

# batches of chunks are formed per thread count (4 chunks per batch with one thread, 2 with
# two here): dropping escaped lanes must not change a bit either
o1 = run(FIG2A.format(gT=0, d=1, V=0.05), "--threads", "1", "--trajectories", "300")[1]
o2 = run(FIG2A.format(gT=0, d=1, V=0.05), "--threads", "2", "--trajectories", "300")[1]
check("300 trajectories, 1 and 2 threads (other batches): identical output", strip(o1) == strip(o2))

# 5b. three oscillators, the third uncoupled (the general coupling step, an odd oscillator's
# noise): pair 1-2 as in the two-oscillator model, the pairs with the third consistent with 0
THREE = FIG2A.format(gT=0, d=0, V=0.05).replace("[coupling]", "[oscillator 3]\nomega = 1\n[coupling]")
t3, _ = run(THREE)
two = run(FIG2A.format(gT=0, d=0, V=0.05))[0]["pairs"][0]
p12 = next(p for p in t3["pairs"] if (p["a"], p["b"]) == ("1", "2"))
check("three oscillators, the third uncoupled: S_12 agrees with two oscillators (within 3 sigma)",
      abs(p12["S"] - two["S"]) < 3 * math.hypot(p12["S_err"], two["S_err"]),
      f"{p12['S']:.4f} +- {p12['S_err']:.4f} against {two['S']:.4f} +- {two['S_err']:.4f}")
others = [p for p in t3["pairs"] if "3" in (p["a"], p["b"])]
check("three oscillators: pairs with the uncoupled third have S consistent with 0 (S <= 3 S_err)",
      len(others) == 2 and all(p["S"] <= 3 * p["S_err"] + 1e-12 for p in others),
      " ".join(f"{p['a']}-{p['b']}: {p['S']:.4f}+-{p['S_err']:.4f}" for p in others))

# 6. halving the time step changes S by less than S_err at the default settings
ref, _ = run(FIG2A.format(gT=0, d=0, V=0.05))
big = ["--trajectories", "8192"]
h1, _ = run(FIG2A.format(gT=0, d=0, V=0.05), *big)
h2, _ = run(FIG2A.format(gT=0, d=0, V=0.05), "--dt", "0.01", *big)
diff = abs(h1["pairs"][0]["S"] - h2["pairs"][0]["S"])
sd = math.hypot(h1["pairs"][0]["S_err"], h2["pairs"][0]["S_err"])
check("dt 0.02 -> 0.01: the change in S (less 2 sigma of its noise) is below the default S_err",
      diff - 2 * sd < ref["pairs"][0]["S_err"], f"|dS| = {diff:.4f}, noise {sd:.4f}, default S_err {ref['pairs'][0]['S_err']:.4f}")

# 7. Fig. 2a: S is largest at Delta = 0 and falls off on both sides
vals = {dd: run(FIG2A.format(gT=0, d=dd, V=0.05))[0]["pairs"][0] for dd in (-3, 0, 3)}
check("Fig. 2a (V = 0.05): S largest at Delta = 0, lower by > 3 sigma at Delta = +-3",
      all(vals[0]["S"] - vals[dd]["S"] > 3 * math.hypot(vals[0]["S_err"], vals[dd]["S_err"]) for dd in (-3, 3)),
      " ".join(f"{dd}: {v['S']:.4f}+-{v['S_err']:.4f}" for dd, v in vals.items()))
check("Fig. 2a (V = 0.05, Delta = 0, cutoff 8): S = 0.81 as MODEL.md states (within 3 sigma + 0.01)",
      abs(vals[0]["S"] - 0.81) < 3 * vals[0]["S_err"] + 0.01, f"{vals[0]['S']:.4f} +- {vals[0]['S_err']:.4f}")

# 8. the estimator's bias is below its reported error, and the reported error is the real
# scatter: at the settings of Fig. 2a's pilot (512 trajectories, burn-in 30), 32 independent
# estimates (seeds 1..32) against one ensemble of 32,768 trajectories, where S is large,
# intermediate, small, and exactly zero (uncoupled)
fig = ["--burn-in", "30"]
for V, dd in ((0.05, 0), (0.05, 1.5), (0.05, 3), (0.05, 4), (0, 0)):
    model = FIG2A.format(gT=0, d=dd, V=V)
    small = [run(model, *fig, "--trajectories", "512", "--seed", str(seed))[0]["pairs"][0] for seed in range(1, 33)]
    ref = run(model, *fig, "--trajectories", "32768", "--seed", "1000")[0]["pairs"][0]
    mean = sum(x["S"] for x in small) / len(small)
    sd = math.sqrt(sum((x["S"] - mean) ** 2 for x in small) / (len(small) - 1))
    err = sum(x["S_err"] for x in small) / len(small)
    bias, noise = mean - ref["S"], math.hypot(sd / math.sqrt(len(small)), ref["S_err"])
    what = f"V = {V}, Delta = {dd}"
    check(f"{what}: bias of S at 512 trajectories below its reported error (|bias| - 2 sigma < S_err)",
          abs(bias) - 2 * noise < err,
          f"S(32768) = {ref['S']:.4f}, mean of 32 x S(512) = {mean:.4f}, bias {bias:+.4f} +- {noise:.4f}, reported S_err {err:.4f}")
    if V > 0:
        check(f"{what}: reported S_err is the scatter of independent estimates (ratio within 0.6..1.6)",
              0.6 * sd < err < 1.6 * sd, f"scatter {sd:.4f}, mean S_err {err:.4f}")
    else:   # S is mostly exactly 0 (no harmonic above the noise): the error must not be too small
        check(f"{what}: the scatter of independent estimates is within 1.6 reported S_err",
              sd <= 1.6 * err, f"scatter {sd:.4f}, mean S_err {err:.4f}")

finish()
