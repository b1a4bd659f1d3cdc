"""The iterative solver (GMRES preconditioned by the uncoupled Liouvillian) against the LU.

Usage: iterative.py QSYNC EXAMPLES TESTMODELS
- S of every pair agrees with --solver direct to 1e-8 on every network the LU handles
  (unequal oscillators, complex couplings, three oscillators, Fig. 4, rings of four with
  4 and 5 levels, stronger coupling), with the same diagnostics;
- --solver auto takes GMRES on the ring of four at 5 levels, and when the LU's memory estimate
  exceeds half the limit, and says so;
- a sweep solved by GMRES (each point started from the previous one) equals the LU's sweep
  to 1e-8, and is identical with 1 and 2 threads;
- bad solver flags exit 2.
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

from checks import check, finish

QSYNC, EXAMPLES, MODELS = sys.argv[1], sys.argv[2], sys.argv[3]
TOL = 1e-8


def run(args):
    p = subprocess.run([QSYNC] + args, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def steady(args):
    rc, out, err = run(["steady"] + args + ["--json"])
    if rc not in (0,) or not out.strip():
        raise RuntimeError(f"qsync steady {' '.join(args)}: exit {rc}: {err.strip()}")
    return json.loads(out)


def compare(name, args):
    try:
        d = steady(args + ["--solver", "direct"])
        it = steady(args + ["--solver", "iterative"])
    except RuntimeError as e:
        check(name, False, str(e))
        return
    dS = max(abs(a["S"] - b["S"]) for a, b in zip(d["pairs"], it["pairs"]))
    check(f"{name}: S agrees with the LU", it["solver"] == "iterative" and dS <= TOL,
          f"max |dS| {dS:.2e} over {len(d['pairs'])} pairs, {it['iterations']} iterations")
    check(f"{name}: diagnostics", it["residual"] <= 1e-11 and it["trace_error"] <= 1e-12
          and it["hermiticity_error"] <= 1e-10 and it["sector_dimension"] == d["sector_dimension"],
          f"residual {it['residual']:.1e}, trace {it['trace_error']:.1e}, hermiticity {it['hermiticity_error']:.1e}")


ring = os.path.join(EXAMPLES, "ring4.ini")
compare("unequal oscillators", [os.path.join(MODELS, "peer_unequal.ini")])
compare("complex couplings", [os.path.join(MODELS, "peer_complex.ini")])
compare("three oscillators", [os.path.join(MODELS, "peer_three.ini")])
compare("Fig. 4, complex A-B", [os.path.join(EXAMPLES, "fig4.ini"), "--set", "A-B=0.05+0.02i"])
compare("Fig. 2b at Delta = 2K", [os.path.join(EXAMPLES, "fig2b.ini"), "--set", "1.omega=20"])
compare("ring of four, 4 levels", [ring])
compare("ring of four, 5 levels, V = 0.4", [ring, "--levels", "5"] +
        sum((["--set", f"{c}=0.4"] for c in ("A-B", "B-A2", "A2-B2", "B2-A")), []))

# auto: the LU of a ring of four with 5 levels needs about 0.47 GiB and a few seconds, GMRES
# converges in about 25 iterations, and its 9,541 orbits run GMRES's first cycle before the
# LU's analysis (tests/auto_choice.py checks the other choices, the memory rule among them)
d = steady([ring, "--levels", "5"])
check("auto tries GMRES first and it converges",
      d["solver"] == "iterative" and "GMRES first (a sector of 38165 unknowns)" in d["solver_reason"], d["solver_reason"])
d = steady([ring, "--levels", "5", "--memory-limit", "60M"])
check("... also within 60 MB, where the LU would not fit", d["solver"] == "iterative" and d["residual"] <= 1e-11,
      d["solver_reason"])

with tempfile.TemporaryDirectory() as tmp:
    def sweep(tag, extra):
        out = os.path.join(tmp, tag)
        rc, _, err = run(["sweep", ring, "--vary", "B.omega,B2.omega=0:40:21", "--out", out, "--no-plot"] + extra)
        if rc != 0:
            check(f"sweep {tag}", False, err.strip())
            return None
        with open(os.path.join(out, "sweep.csv")) as f:
            text = f.read()
        return text, list(csv.DictReader(text.splitlines()))

    lu = sweep("direct", ["--solver", "direct"])
    g1 = sweep("gmres1", ["--solver", "iterative", "--threads", "1"])
    g2 = sweep("gmres2", ["--solver", "iterative", "--threads", "2"])
    if lu and g1 and g2:
        cols = [c for c in lu[1][0] if c.startswith("S_")]
        dS = max(abs(float(a[c]) - float(b[c])) for a, b in zip(lu[1], g1[1]) for c in cols)
        check("GMRES sweep (warm starts) equals the LU sweep", len(lu[1]) == len(g1[1]) == 21 and dS <= TOL,
              f"max |dS| {dS:.2e} over {len(cols)} pairs x 21 points")
        check("GMRES sweep: 1 and 2 threads give identical files", g1[0] == g2[0])
        cold = sweep("cold", ["--solver", "iterative", "--cold-start"])
        if cold:
            dS = max(abs(float(a[c]) - float(b[c])) for a, b in zip(cold[1], g1[1]) for c in cols)
            check("GMRES sweep from the uncoupled state at every point (--cold-start) equals the warm-started one",
                  dS <= TOL, f"max |dS| {dS:.2e}")

rc, _, err = run(["steady", ring, "--full", "--solver", "iterative"])
check("--full with --solver iterative: exit 2, says the LU is needed", rc == 2 and "needs the LU" in err, err.strip())

for flags, what in ((["--solver", "lu"], "--solver lu"), (["--restart", "1"], "--restart 1"),
                    (["--iterative-tol", "0"], "--iterative-tol 0")):
    rc, _, err = run(["steady", ring] + flags)
    check(f"bad flag {what} exits 2 naming it", rc == 2 and flags[0] in err, err.strip())

finish()
