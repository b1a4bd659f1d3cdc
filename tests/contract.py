#!/usr/bin/env python3
"""The command-line contract of MODEL.md §6 for `qsync steady`: JSON fields, sector and
Liouvillian dimensions, --full, --levels auto, --phase-distribution. One PASS/FAIL line each."""
import csv
import json
import math
import os
import subprocess
import sys
import tempfile

from checks import check, finish

QSYNC, EXAMPLES = sys.argv[1], sys.argv[2]


def steady(*args):
    r = subprocess.run([QSYNC, "steady", *args, "--json"], capture_output=True, text=True)
    return r.returncode, (json.loads(r.stdout) if r.returncode == 0 else None), r.stderr


rc, d, err = steady(os.path.join(EXAMPLES, "fig2b.ini"), "--levels", "10")
check("steady --json exits 0", rc == 0, err.strip())
check("JSON has pairs with a, b, S, phi_max", all(k in d["pairs"][0] for k in ("a", "b", "S", "phi_max")))
check("two oscillators x 10 levels: sector_dimension 670", d["sector_dimension"] == 670, str(d["sector_dimension"]))
check("two oscillators x 10 levels: liouvillian_dimension 10000", d["liouvillian_dimension"] == 10000,
      str(d["liouvillian_dimension"]))
check("residual reported and below 1e-12", d["residual"] < 1e-12, f"{d['residual']:.2e}")
check("phi_max in [0, 2pi)", 0 <= d["pairs"][0]["phi_max"] < 2 * math.pi)

rc, d4, err = steady(os.path.join(EXAMPLES, "ring4.ini"))
check("four oscillators x 4 levels: sector_dimension 8092", rc == 0 and d4["sector_dimension"] == 8092,
      str(d4 and d4["sector_dimension"]))
check("four oscillators: 6 pairs in file order",
      rc == 0 and [(p["a"], p["b"]) for p in d4["pairs"]] ==
      [("A", "B"), ("A", "A2"), ("A", "B2"), ("B", "A2"), ("B", "B2"), ("A2", "B2")])

rc, df, err = steady(os.path.join(EXAMPLES, "fig4.ini"), "--full", "--no-symmetry")
rc2, ds, err2 = steady(os.path.join(EXAMPLES, "fig4.ini"))
check("--full --no-symmetry: solved the whole Liouvillian", rc == 0 and df["system_dimension"] == df["liouvillian_dimension"])
check("Fig. 4: A <-> B symmetry found and used (order 2, fewer unknowns than the sector)",
      rc2 == 0 and ds["symmetry_order"] == 2 and ds["system_dimension"] < ds["sector_dimension"],
      f"order {ds['symmetry_order']}, {ds['system_dimension']} of {ds['sector_dimension']}")
worst = max(abs(a["S"] - b["S"]) / b["S"] for a, b in zip(df["pairs"], ds["pairs"]))
check("--full equals the sector path on Fig. 4 (relative 1e-10)", worst < 1e-10, f"{worst:.2e}")

r = subprocess.run([QSYNC, "steady", os.path.join(EXAMPLES, "fig2b.ini"), "--levels", "auto"],
                   capture_output=True, text=True)
check("--levels auto prints its choice", r.returncode == 0 and "levels = auto: oscillator 1 gets" in r.stderr,
      r.stderr.strip().splitlines()[0] if r.stderr else "")
rc, da, err = steady(os.path.join(EXAMPLES, "fig2b.ini"), "--levels", "auto")
check("--levels auto: JSON marks levels_auto and meets the tolerance on S (truncation_error_max <= s_tol)",
      rc == 0 and all(o["levels_auto"] for o in da["oscillators"]) and da["truncation_error_max"] <= da["s_tol"],
      f"{da.get('truncation_error_max')} vs {da.get('s_tol')}")

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "p.csv")
    rc, d3, err = steady(os.path.join(EXAMPLES, "fig4.ini"), "--phase-distribution", path)
    rows = list(csv.reader(open(path)))
    check("phase distribution CSV header", rows[0] == ["phi", "P_A-B", "P_A-C", "P_B-C", "PQ_A-B", "PQ_A-C", "PQ_B-C"], str(rows[0]))
    phis = [float(r[0]) for r in rows[1:]]
    for col, pair in enumerate(d3["pairs"], start=1):
        vals = [float(r[col]) for r in rows[1:]]
        integral = sum((vals[i] + vals[i + 1]) / 2 * (phis[i + 1] - phis[i]) for i in range(len(vals) - 1))
        check(f"P(phi) of {pair['a']}-{pair['b']} integrates to 1", abs(integral - 1) < 1e-9, f"{integral:.12f}")
        peak = 2 * math.pi * max(vals) - 1
        check(f"2 pi max P - 1 on the CSV grid is within 1e-3 of S for {pair['a']}-{pair['b']}",
              -1e-12 <= pair["S"] - peak < 1e-3 * max(pair["S"], 1e-3), f"{peak:.6f} vs {pair['S']:.6f}")
    check("no temporary file left behind", os.listdir(tmp) == ["p.csv"], str(os.listdir(tmp)))

r = subprocess.run([QSYNC, "steady", os.path.join(EXAMPLES, "fig2b.ini"), "--no-truncation-check"], capture_output=True, text=True)
check("levels 8 at Fig. 2b: top-level warning on stderr naming both oscillators, exit 0",
      "warning: oscillator 1: population" in r.stderr and "oscillator 2: population" in r.stderr and r.returncode == 0, r.stderr)
r = subprocess.run([QSYNC, "steady", os.path.join(EXAMPLES, "fig2b.ini"), "--set", "2.nbar=0", "--no-truncation-check"],
                   capture_output=True, text=True)
check("only the oscillator whose top level is too full is named",
      "oscillator 1: population" in r.stderr and "oscillator 2" not in r.stderr, r.stderr)

r = subprocess.run([QSYNC, "perturb", os.path.join(EXAMPLES, "fig2b.ini"), "--set", "1-2=0.001", "--json"],
                   capture_output=True, text=True)
p1 = json.loads(r.stdout)["pairs"][0]
check("perturb: first-order S/V at Delta = 2K, levels 8 is MODEL.md's 1.4488", abs(p1["S"] / 1e-3 - 1.4488) < 5e-5,
      f"{p1['S'] / 1e-3:.6f}")
rc, dp, err = steady(os.path.join(EXAMPLES, "fig2b.ini"), "--set", "1-2=0.001")
check("perturb equals the exact S at V = 1e-3 to 1e-3 relative", abs(p1["S"] - dp["pairs"][0]["S"]) < 1e-3 * dp["pairs"][0]["S"],
      f"{p1['S']:.8e} vs {dp['pairs'][0]['S']:.8e}")

r = subprocess.run([QSYNC, "resonances", "--K", "5", "--delta-n", "-1:1", "--json"], capture_output=True, text=True)
pts = sorted((p["dn"], p["Delta"]) for p in json.loads(r.stdout)["points"])
check("resonances: Eq. 7 at K = 5, dn = -1..1", pts == [(-1, 0), (-1, 20), (0, -10), (0, 10), (1, -20), (1, 0)], str(pts))
r = subprocess.run([QSYNC, "implement", "--g", "0.5", "--kappa", "10", "--K", "20", "--delta-plus", "80",
                    "--delta-minus", "-100", "--omega0", "0", "--json"], capture_output=True, text=True)
im = json.loads(r.stdout)
check("implement: gamma = 4g^2/kappa, sigma = kappa/8K, n+- = +-(delta+- - omega0)/2K, no warning",
      (im["gamma"], im["sigma"], im["n_plus"], im["n_minus"]) == (0.1, 0.0625, 2, 2.5) and r.stderr == "", str(im))
r = subprocess.run([QSYNC, "implement", "--g", "5", "--kappa", "10", "--K", "2", "--delta-plus", "8",
                    "--delta-minus", "-12", "--omega0", "0"], capture_output=True, text=True)
check("implement: warns when g << kappa and K/kappa >~ 1 fail", "not << 1" in r.stderr and "K/kappa = 0.2 < 1" in r.stderr,
      r.stderr.strip())

finish()
