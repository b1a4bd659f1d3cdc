"""Classical error bars and flags, and phi_max's range:
- the jackknife over any number of replicas the program accepts (R = 256 and R = 300 agree; the
  error falls as 1/sqrt(trajectories)); what cannot give an honest error is refused (exit 2,
  naming the flag): --replicas 2, fewer than three groups of 32 trajectories;
- a model without noise refused (S is undefined for deterministic dynamics);
- step counts bounded at parsing (--dt 1e-300 overflowed), --seed digits only and in range;
- phi_max in [0, 2pi), also as printed: identical oscillators (maximum at 0 by symmetry);
- frequencies beyond double precision over the run refused (exit 2; a sweep point: status input)."""
import json, math, subprocess, sys
from checks import check, finish

QS, EX = sys.argv[1], sys.argv[2]
FAST = ["--burn-in", "10", "--time", "40"]


def run(*args):
    p = subprocess.run([QS] + list(args), capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def S(*args):
    rc, out, err = run("classical", f"{EX}/fig2a.ini", "--json", *FAST, *args)
    return json.loads(out)["pairs"][0] if rc == 0 else {"S": math.nan, "S_err": math.nan, "rc": rc, "err": err}


# 1. jackknife for any R: R = 256 and R = 300 on the same 9600 trajectories agree with R = 16
e = {R: S("--trajectories", "9600", "--replicas", str(R))["S_err"] for R in (16, 256, 300)}
check("S_err at R = 300 within a factor 1.5 of R = 256", 1 / 1.5 < e[300] / e[256] < 1.5, f"{e}")
check("S_err at R = 256 and 300 within a factor 1.5 of R = 16", all(1 / 1.5 < e[R] / e[16] < 1.5 for R in (256, 300)), f"{e}")
# 2. the error falls about as 1/sqrt(trajectories): 2400 -> 9600 halves it (1.4 .. 2.8)
a, b = S("--trajectories", "2400", "--replicas", "64")["S_err"], S("--trajectories", "9600", "--replicas", "64")["S_err"]
check("S_err(2400 trajectories) / S_err(9600) about 2", 1.4 < a / b < 2.8, f"{a:.4g} / {b:.4g} = {a / b:.3g}")
# 3. the least accepted: three replicas, 65 trajectories: a non-zero error
r = S("--trajectories", "96", "--replicas", "3")
check("--replicas 3 with 96 trajectories: S_err > 0", r["S_err"] > 0, f"{r}")

# 4. refused, exit 2, naming the flag
for args, flag in ((["--replicas", "2"], "--replicas"), (["--trajectories", "64"], "--trajectories"),
                   (["--trajectories", "33"], "--trajectories"), (["--dt", "1e-300"], "--dt"),
                   (["--time", "1e300"], "--time"), (["--burn-in", "1e300"], "--burn-in"),
                   (["--dt", "0.001", "--sample-every", "1e12"], "--sample-every"),
                   (["--seed", "99999999999999999999999"], "--seed"), (["--seed", " -1"], "--seed"),
                   (["--seed", "-1"], "--seed"), (["--seed", "18446744073709551616"], "--seed"), (["--seed", "1x"], "--seed")):
    rc, out, err = run("classical", f"{EX}/fig2a.ini", *args)
    check(f"classical {' '.join(repr(x) for x in args)}: exit 2 naming {flag}", rc == 2 and flag in err and "runtime error" not in err,
          f"rc {rc}: {err.strip()[:160]}")
rc, out, err = run("classical", f"{EX}/fig2a.ini", "--seed", "18446744073709551615", "--trajectories", "96", *FAST)
check("--seed 2^64 - 1 accepted", rc == 0, err.strip()[:160])

# a failed run names its model file (was "(null)": the model freed before the message)
rc, out, err = run("classical", f"{EX}/fig2a.ini", "--cutoff", "1e-9", "--trajectories", "96", *FAST)
check("every trajectory escaped: exit 3 naming the model file", rc == 3 and "fig2a.ini" in err and "(null)" not in err, err.strip()[:160])
# without noise the dynamics are deterministic and S is undefined (it read 48 = 2 x 24 harmonics): refused, naming
# the model and an oscillator; noise on one oscillator is enough to run
rc, out, err = run("classical", f"{EX}/fig2b.ini", "--trajectories", "96", *FAST)
check("noise = 0 everywhere (fig2b.ini): exit 2 naming the model, an oscillator and noise", rc == 2 and
      "fig2b.ini: oscillator 1: noise = 0" in err and out == "", err.strip()[:200])
rc, out, err = run("classical", f"{EX}/fig2b.ini", "--set", "2.noise=0.1", "--trajectories", "96", *FAST)
check("noise on one oscillator: runs", rc == 0, err.strip()[:200])

# 6. a frequency double precision cannot follow over the run (rounding of the phase, and through its cosine and sine
# of |alpha|, eps |Omega| (burn_in + t_measure) > 1e-3, classical.h): refused naming the oscillator and omega (at
# omega = 1e20 it gave S = 0.55 "ok" with mean |alpha_1|^2 = 0.0044); below the bound (omega = 1e9, t = 50: 1.1e-5)
# oscillator 1 is far detuned, effectively uncoupled, its mean |alpha|^2 that of omega = 1e6 (same seed) within 5%
import os, shutil, tempfile
for w in ("1e20", "1e16"):
    rc, out, err = run("classical", f"{EX}/fig2a.ini", "--set", f"1.omega={w}", "--trajectories", "96", *FAST)
    check(f"classical --set 1.omega={w}: exit 2 naming oscillator 1 and omega", rc == 2 and "oscillator 1: omega" in err and out == "",
          f"rc {rc}: {err.strip()[:200]}")
x = {}
for w in ("1e9", "1e6"):
    rc, out, err = run("classical", f"{EX}/fig2a.ini", "--set", f"1.omega={w}", "--trajectories", "96", "--replicas", "3", "--json", *FAST)
    x[w] = json.loads(out)["oscillators"][0]["mean_x"] if rc == 0 else math.nan
check("omega = 1e9 runs: mean |alpha_1|^2 that of omega = 1e6 within 5% (about 2.5)",
      abs(x["1e9"] - x["1e6"]) <= 0.05 * x["1e6"] and 2 < x["1e9"] < 3, f"{x}")
tmp = tempfile.mkdtemp()
try:
    rc, out, err = run("sweep", f"{EX}/fig2a.ini", "--classical", "--trajectories", "96", "--replicas", "3", *FAST,
                       "--vary", "1.omega=1:1e20:2", "--out", os.path.join(tmp, "s"), "--no-plot")
    with open(os.path.join(tmp, "s", "sweep.csv")) as f:
        rows = [l.strip().split(",") for l in f if l.strip()]
    st = {r[0]: r[rows[0].index("status")] for r in rows[1:]}
    check("sweep --classical: the point omega = 1e20 has status input, omega = 1 ok", st.get("1e+20") == "input" and st.get("1") == "ok",
          f"{st}")
except (OSError, ValueError) as exc:
    check("sweep --classical: the point omega = 1e20 has status input, omega = 1 ok", False, str(exc)[:200])
finally:
    shutil.rmtree(tmp)

# 5. phi_max: identical oscillators A, B of Fig. 4 coupled: the maximum is at 0 by symmetry
rc, out, err = run("steady", f"{EX}/fig4.ini", "--set", "A-B=0.1", "--json")
pairs = {(p["a"], p["b"]): p for p in json.loads(out)["pairs"]} if rc == 0 else {}
phi = pairs.get(("A", "B"), {}).get("phi_max", math.nan)
check("identical oscillators: phi_max = 0 (was 2pi)", phi == 0.0, f"{phi!r}")
check("every phi_max in [0, 2pi)", pairs != {} and all(0 <= p["phi_max"] < 2 * math.pi for p in pairs.values()))
rc, out, err = run("steady", f"{EX}/fig4.ini", "--set", "A-B=0.1")
row = [l for l in out.splitlines() if l.startswith("A-B ")]
check("identical oscillators: the table prints phi_max 0.000000", bool(row) and row[0].split()[2] == "0.000000", f"{row}")
finish()
