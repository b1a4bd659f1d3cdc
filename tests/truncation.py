"""The truncation error of S (convergence.h, qsync steady): the estimate against the truth
(S at many more levels) on two models, exact cases, the warning rule, levels = auto by S.

usage: truncation.py QSYNC EXAMPLES_DIR
"""
import json
import math
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, finish  # noqa: E402

QSYNC, EXAMPLES = sys.argv[1], sys.argv[2]
FIG2B = os.path.join(EXAMPLES, "fig2b.ini")
FIG4 = os.path.join(EXAMPLES, "fig4.ini")


def run(*args):
    return subprocess.run([QSYNC, "steady", *args], capture_output=True, text=True)


def steady(*args):
    r = run(*args, "--json")
    try:
        return r.returncode, json.loads(r.stdout), r.stderr
    except ValueError:
        return r.returncode, None, r.stderr


def S_at(model, L, *sets):
    rc, d, err = steady(model, "--levels", str(L), "--no-truncation-check", *sets)
    if rc != 0:
        print(f"reference solve of {model} at {L} levels failed (the checks using it fail): exit {rc}: {err.strip()}")
    return [p["S"] for p in d["pairs"]] if rc == 0 else None


tmp = tempfile.mkdtemp()


def write(name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


# --- the estimate against the truth -------------------------------------------------------
# Model 1: Fig. 2b (populations ~1/n^2, S(L) - S(inf) ~ 1/L). Reference: 48 levels, which is
# itself about 1.6e-4 above S(inf), so the true error is a little larger than measured here.
REF = 48
for sets, L, lo, hi in ((("--set", "1.omega=20"), 8, 0.5, 1.5), (("--set", "1.omega=20"), 12, 0.5, 1.5),
                        (("--set", "1.omega=0"), 8, 0.5, 1.5), (("--set", "1-2=0.5"), 8, 0.4, 1.5)):
    rc, d, err = steady(FIG2B, "--levels", str(L), *sets)
    ref = S_at(FIG2B, REF, *sets)
    if rc != 0 or ref is None:
        check(f"Fig. 2b {' '.join(sets)} L={L}: solved", False, err)
        continue
    p = d["pairs"][0]
    true = p["S"] - ref[0]
    ratio = true / p["truncation_error"]
    check(f"Fig. 2b {sets[1]} at {L} levels: true error S(L) - S({REF}) = {true:.3e} is {lo}-{hi} x the estimate "
          f"{p['truncation_error']:.3e}", lo <= ratio <= hi, f"ratio {ratio:.3f}")
    check(f"Fig. 2b {sets[1]} at {L} levels: the raw one-level change underestimates the error (why it is extrapolated)",
          abs(p["truncation_change"]) < 0.5 * abs(true), f"change {p['truncation_change']:.2e}, true {true:.2e}")

# Model 2: n- = n+ + 2, populations ~1/n^4: 30 levels is exact to ~1e-7.
Q4 = write("q4.ini", "[defaults]\nK = 10\ngamma = 1\nsigma = 0.2\nn_plus = 2\nn_minus = 4\nlevels = 6\n"
                     "[oscillator 1]\nomega = 20\n[oscillator 2]\n[coupling]\n1-2 = 0.2\n")
ref = S_at(Q4, 30)
for L in (6, 8):
    rc, d, err = steady(Q4, "--levels", str(L))
    p = d["pairs"][0] if rc == 0 else None
    ratio = (p["S"] - ref[0]) / p["truncation_error"] if p and ref else float("nan")
    check(f"1/n^4 tails at {L} levels: true error within 0.8-1.25 x the estimate", 0.8 <= ratio <= 1.25, f"ratio {ratio:.3f}")

# Model 3: three oscillators (Fig. 4), reference 9 levels (the largest quick one): the estimate at
# 5 levels must exceed what is seen up to 9 and stay of its size
rc, d, err = steady(FIG4, "--levels", "5")
ref = S_at(FIG4, 9)
if rc == 0 and ref:
    for p, r in zip(d["pairs"], ref):
        ratio = (p["S"] - r) / p["truncation_error"]
        check(f"Fig. 4 {p['a']}-{p['b']} at 5 levels: S(5) - S(9) is 0.3-1.0 x the estimate (S(9) is not yet converged)",
              0.3 <= ratio <= 1.0, f"ratio {ratio:.3f}")
else:
    check("Fig. 4 at 5 and 9 levels solved", False, err)

# the extrapolation factor F = T(L)/(T(L) - T(L+1)) against a direct sum of the uncoupled chain
def tail_factor(n_plus, n_minus, sigma, L, N=400000):
    lp, terms = 0.0, []
    for n in range(L + 1, N):
        fp = sigma ** 2 / ((n - n_plus) ** 2 + sigma ** 2)
        fm = sigma ** 2 / ((n - n_minus) ** 2 + sigma ** 2)
        lp += math.log(fp / fm)
        terms.append(math.exp(lp))
    return 1 + sum(reversed(terms)) + terms[-1] * N  # remainder of a 1/n^2 tail


rc, d, err = steady(FIG2B)
F = d["truncation_check"]["factor"][0]
ref_F = tail_factor(2, 3, 0.2, 8)
check(f"tail factor at 8 levels (n+ 2, n- 3, sigma 0.2): {F:.6f} = direct sum {ref_F:.6f} (1e-5)", abs(F / ref_F - 1) < 1e-5)

# --- exact cases ------------------------------------------------------------------------------
two = write("two.ini", "[defaults]\nK = 10\ngamma = 1\nsigma = 0.2\nnbar = 2\nlevels = 2\n"
                       "[oscillator 1]\nomega = 20\n[oscillator 2]\n[coupling]\n1-2 = 0.1\n")
rc, d, err = steady(two)
s3 = S_at(two, 3)
p = d["pairs"][0]
check("two levels: S = 0 exactly (the minimal model)", rc == 0 and abs(p["S"]) < 1e-12, f"{p['S']:.2e}")
check("two levels: the change with one more level is S at three levels (not a spurious 0)",
      abs(p["truncation_change"] - s3[0]) < 1e-12 and p["truncation_change"] > 1e-4, f"{p['truncation_change']:.6e} vs {s3[0]:.6e}")
check("two levels (below n- + 2): the error is unknown, not extrapolated, and a warning says so",
      p["truncation_error"] is None and "not_extrapolated" in d["truncation_check"]
      and "truncation error of S cannot be estimated: oscillator 1 has 2 levels" in err, err.strip())
rc, d, err = steady(Q4, "--levels", "5")
check("1/n^4 tails at 5 levels = n- + 1 (S(5) - S(30) has the other sign than the one-level change): error unknown, warned",
      rc == 0 and d["pairs"][0]["truncation_error"] is None and "cannot be estimated" in err, err.strip())

rc, d, err = steady(FIG2B, "--set", "1-2=0")
check("uncoupled: estimated error 0 and no warning", rc == 0 and d["pairs"][0]["truncation_error"] < 1e-13 and not d["warnings"],
      f"{d['pairs'][0]['truncation_error']:.2e} {d['warnings']}")

# --- what qsync steady reports -----------------------------------------------------------------
for name in ("fig2a", "fig2b", "fig3a", "fig3b", "fig4", "ring4"):
    r = run(os.path.join(EXAMPLES, f"{name}.ini"))
    check(f"examples/{name}.ini runs clean (no warning) and prints the estimate", r.returncode == 0 and "warning" not in r.stderr
          and "truncation: estimated error of S" in r.stdout, r.stderr.strip()[:300])

rc, d, err = steady(FIG2B)
tc = d["truncation_check"]
check("JSON: truncation_error per pair, its max, and how it was computed",
      abs(d["truncation_error_max"] - d["pairs"][0]["truncation_error"]) == 0 and tc["extra_solves"] == 1
      and tc["extra_sector_dimension"] == 489 and "every oscillator" in tc["method"], json.dumps(tc)[:200])
check("JSON: the top-level population stays as information", d["oscillators"][0]["top_population"] > 1e-3 and not d["warnings"])

r = run(FIG2B, "--s-tol", "1e-4")
check("--s-tol 1e-4: a warning about S naming the pair and the tolerance, exit 0",
      r.returncode == 0 and "warning: the estimated truncation error of S is 0.00093 (pair 1-2" in r.stderr and "1e-04" not in r.stderr
      and "above --s-tol 0.0001" in r.stderr, r.stderr.strip())
r = run(FIG2B, "--no-truncation-check")
check("--no-truncation-check: the top-level warning, saying S's error was not estimated",
      r.returncode == 0 and "population 0.0014 of the top level 7" in r.stderr and "not estimated: --no-truncation-check" in r.stderr,
      r.stderr.strip())

chain = write("chain5.ini", "[defaults]\nK = 10\ngamma = 1\nsigma = 0.2\nnbar = 1\nlevels = 3\n[oscillator A]\n[oscillator B]\n"
                            "omega = 20\n[oscillator C]\n[oscillator D]\nomega = 20\n[oscillator E]\n"
                            "[coupling]\nA-B = 0.1\nB-C = 0.1\nC-D = 0.1\nD-E = 0.1\n")
rc, d, err = steady(chain)
check("five oscillators at 3 levels: not estimated by default (one more level: 116304 unknowns > 60000), reason in JSON",
      rc == 0 and d["truncation_check"]["method"] == "none" and "116304 unknowns, above 60000" in d["truncation_check"]["reason"]
      and d["truncation_error_max"] is None, json.dumps(d["truncation_check"]))
check("... and the top-level warning says why S's error is unknown", any("not estimated: one more level needs" in w for w in d["warnings"]),
      str(d["warnings"]))

rc, d, err = steady(FIG4, "--per-oscillator")
tc = d["truncation_check"]
rc1, d1, _ = steady(FIG4)
ok = rc == 0 and tc["extra_solves"] == 3 and len(tc["oscillator_change"]) == 3
check("--per-oscillator: three solves, a change per oscillator and pair", ok, json.dumps(tc)[:200])
if ok:
    for q, (p, p1) in enumerate(zip(d["pairs"], d1["pairs"])):
        total = sum(tc["oscillator_change"][j][q] for j in range(3))
        check(f"--per-oscillator {p['a']}-{p['b']}: the changes add up to the all-at-once change within 20%, same size of error",
              abs(total - p1["truncation_change"]) <= 0.2 * abs(p1["truncation_change"])
              and 0.5 <= p["truncation_error"] / p1["truncation_error"] <= 2,
              f"{total:.3e} vs {p1['truncation_change']:.3e}; {p['truncation_error']:.2e} vs {p1['truncation_error']:.2e}")

for args, what in ((("--s-tol", "0"), "--s-tol"), (("--s-tol", "-1"), "--s-tol"), (("--s-tol", "nan"), "--s-tol"),
                   (("--per-oscillator", "--no-truncation-check"), "--per-oscillator")):
    r = run(FIG2B, *args)
    check(f"{' '.join(args)}: exit 2 naming {what}", r.returncode == 2 and what in r.stderr, f"{r.returncode} {r.stderr.strip()}")

# --- levels = auto by a tolerance on S ---------------------------------------------------------
for tol in ("2e-3", "1e-3"):
    rc, d, err = steady(FIG2B, "--levels", "auto", "--s-tol", tol)
    L = d["oscillators"][0]["levels"] if rc == 0 else 0
    ref = S_at(FIG2B, REF)
    true = abs(d["pairs"][0]["S"] - ref[0]) if rc == 0 and ref else 1   # a failed reference solve fails the check
    check(f"Fig. 2b levels = auto --s-tol {tol}: chose {L} levels, |S(L) - S({REF})| = {true:.2e} + 1.6e-4 (S({REF}) - S(inf)) "
          f"meets the tolerance", rc == 0 and true + 1.6e-4 <= float(tol) and d["truncation_error_max"] <= float(tol)
          and d["levels_auto"]["rounds"] >= 1, err)

t0 = time.time()
rc, d, err = steady(FIG4, "--levels", "auto")
dt = time.time() - t0
L = d["oscillators"][0]["levels"] if rc == 0 else 0
check(f"Fig. 4 levels = auto (was refused: 40 GB): fits ({L} levels), no warning, under 30 s",
      rc == 0 and 4 <= L <= 7 and not d["warnings"] and d["truncation_error_max"] <= 5e-3 and dt < 30, f"{dt:.1f} s {err}")
r = run(FIG4, "--levels", "auto")
check("Fig. 4 levels = auto: says what it chose and why on stderr",
      r.returncode == 0 and f"levels = auto: oscillator A gets {L} levels" in r.stderr and "<= --s-tol 0.005" in r.stderr
      and "warning" not in r.stderr, r.stderr.strip()[:300])
rc, d2, err = steady(FIG4, "--levels", "auto", "--s-tol", "2e-3")
L2 = d2["oscillators"][0]["levels"] if rc == 0 else 0
ref = S_at(FIG4, 9)
worst = max(abs(p["S"] - r) for p, r in zip(d2["pairs"], ref)) if rc == 0 and ref else 1
check(f"Fig. 4 levels = auto --s-tol 2e-3: more levels ({L2}), estimate within it, and |S - S(9)| = {worst:.2e} below it",
      rc == 0 and L2 > L and d2["truncation_error_max"] <= 2e-3 and worst <= 2e-3, err)

finish()
