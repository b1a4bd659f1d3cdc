"""`--solver auto`: which solver it takes on small networks of each kind, the reason it gives,
and that its answer is the LU's.

Usage: auto_choice.py QSYNC EXAMPLES
- a small sector whose LU costs less than a few GMRES iterations: the LU alone;
- detuned all-to-all oscillators (8,092 unknowns, no symmetry, an LU with much fill, weak
  coupling): GMRES's first cycle runs before the LU's analysis, and converges;
- a ring of 5 identical oscillators (8,953 unknowns, 895 orbits): GMRES first, as for every
  sector from 6,000 unknowns (the LU's plan emits every element, whatever the symmetry);
- strong coupling (L0^# stagnates): GMRES is tried, its rate predicts it slower than the LU;
  where the block preconditioner is predicted to finish sooner than the LU (Fig. 4 x 8 levels
  at V1 = 1: symmetric, so over the whole sector) the blocks finish the solve, else (the same
  with --preconditioner uncoupled) the LU does (trial_iterations > 0, said in the reason);
- identical oscillators whose symmetry makes the LU's unknowns few (6 all-to-all, 720
  permutations): GMRES first all the same (its plan costs 0.24 s against GMRES's 0.05 s);
- a larger sector without symmetry: the same, said with its size;
- the LU above half the memory limit (a sector below 6,000 unknowns, whose LU is planned
  first): GMRES alone;
- each result's S equals --solver direct's to 1e-8, and the predictions are in the JSON;
- the LU auto takes: KLU while AMD's flop estimate is at most 3e7 (two oscillators at 18
  levels, 3,894 unknowns; it was UMFPACK above 1,200), UMFPACK beyond (Fig. 4 at 7 levels,
  3.5e8), each equal to the other LU to 1e-12;
- a sweep from weak to strong coupling (some points by GMRES, the rest by the LU after a
  trial; 24 points, two blocks) equals the LU's sweep to 1e-8 and gives the same file with 1
  and 2 threads (each block starts with GMRES first, whatever the block before it chose);
- a sweep along a coupling whose later points are solved by GMRES preconditioned by an earlier
  point's UMFPACK factorisation equals the sweep that factorises every point (--cold-start) to
  1e-10, for any thread count (also along a detuning, where the fill varies from point to
  point), and --cold-start's point equals a lone solve (one BLAS thread) bit for bit.
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

from checks import check, finish

QSYNC, EXAMPLES = sys.argv[1], sys.argv[2]
BASE = ["--json", "--no-truncation-check", "--no-dynamics"]


def network(path, n, levels, V, kind, detune):
    names = [f"O{i}" for i in range(n)]
    with open(path, "w") as f:
        f.write(f"[defaults]\ngamma = 1\nsigma = 0.2\nK = 10\nnbar = 1\nlevels = {levels}\n")
        for i, x in enumerate(names):
            f.write(f"[oscillator {x}]\n")
            if detune:
                f.write(f"omega = {0.7 * i:g}\nnbar = {0.6 + 0.15 * i:g}\n")
        f.write("[coupling]\n")
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)] if kind == "all" else [(i, i + 1) for i in range(n - 1)]
        if kind == "ring":
            pairs.append((n - 1, 0))
        for i, j in pairs:
            f.write(f"{names[i]}-{names[j]} = {V:g}\n")
    return path


def steady(args, solver="auto", env=None):
    p = subprocess.run([QSYNC, "steady"] + args + BASE + ["--solver", solver], capture_output=True, text=True,
                       env=None if env is None else {**os.environ, **env})
    if p.returncode != 0:
        return None, f"exit {p.returncode}: {p.stderr.strip()[-300:]}"
    return json.loads(p.stdout), ""


def case(name, args, solver, reason, trial=None):
    d, err = steady(args)
    if d is None:
        check(name, False, err)
        return None
    ok = d["solver"] == solver and reason in d["solver_reason"]
    if trial is not None:
        ok = ok and (d["trial_iterations"] > 0) == trial
    check(f"{name}: auto takes the {solver} solver ({reason!r})", ok,
          f"{d['solver']}: {d['solver_reason']}; trial iterations {d['trial_iterations']}")
    lu, err = steady(args, "direct")
    peer = "the LU's"
    if lu is None and "exit 4" in err:          # the LU does not fit: GMRES alone
        lu, err, peer = *steady(args, "iterative"), "GMRES's"
    if lu is None:
        check(f"{name}: the peer solves it", False, err)
        return d
    # S of every pair, and <n> of every oscillator (a single oscillator has no pair)
    values = [(a["S"], b["S"]) for a, b in zip(d["pairs"], lu["pairs"])] + \
        [(a["mean_n"], b["mean_n"]) for a, b in zip(d["oscillators"], lu["oscillators"])]
    dS = max(abs(a - b) for a, b in values)
    check(f"{name}: S and <n> equal {peer} to 1e-8", dS <= 1e-8 and d["residual"] <= 1e-8 and
          len(d["pairs"]) == len(lu["pairs"]), f"max difference {dS:.2e} over {len(values)} values")
    predicted = d["predicted_seconds"] > 0 and d["predicted_memory_bytes"] > 0 and (
        d["predicted_lu_seconds"] > 0 or d["predicted_iteration_seconds"] > 0)
    check(f"{name}: predictions in the JSON", predicted,
          f"{d['predicted_seconds']:.3g} s, {d['predicted_memory_bytes']:.3g} bytes")
    return d


case("Fig. 2b (344 unknowns)", [os.path.join(EXAMPLES, "fig2b.ini")], "direct", "GMRES's set-up and 24 iterations would cost more")
with tempfile.TemporaryDirectory() as tmp:
    # 8,092 unknowns without symmetry: GMRES's first cycle before the LU's analysis
    case("4 detuned all-to-all x 4 levels, V = 0.1", [network(f"{tmp}/a4.ini", 4, 4, 0.1, "all", True)], "iterative",
         "GMRES first (a sector of 8092 unknowns)")
    # 895 orbits of 8,953 (symmetry 10): GMRES first, by the sector's size
    case("ring of 5 identical x 3 levels, V = 0.2", [network(f"{tmp}/r5.ini", 5, 3, 0.2, "ring", False)], "iterative",
         "GMRES first (a sector of 8953 unknowns)")
    case("Fig. 4 x 8 levels, V1 = 1 (strong)", [os.path.join(EXAMPLES, "fig4.ini"), "--levels", "8", "--set", "A-C=1",
                                                 "--set", "B-C=1"], "iterative", "the block preconditioner on the whole sector after",
         trial=False)
    case("Fig. 4 x 8 levels, V1 = 1, --preconditioner uncoupled", [os.path.join(EXAMPLES, "fig4.ini"), "--levels", "8", "--set",
                                                                  "A-C=1", "--set", "B-C=1", "--preconditioner", "uncoupled"],
         "direct", "GMRES iterations", trial=True)
    case("6 identical all-to-all x 3 levels (73,789 unknowns, symmetry 720)",
         [network(f"{tmp}/a6.ini", 6, 3, 0.1, "all", False)], "iterative", "GMRES first (a sector of 73789 unknowns)")
    case("chain of 6 detuned x 3 levels, V = 0.1 (73,789 unknowns, no symmetry)",
         [network(f"{tmp}/c6.ini", 6, 3, 0.1, "chain", True)], "iterative", "GMRES first (a sector of 73789 unknowns)")
    # one oscillator of 40,000 levels: GMRES's dense level tables (37 GB) do not fit, the LU
    # (a tridiagonal population chain) takes a fraction of a second
    with open(f"{tmp}/one.ini", "w") as f:
        f.write("[oscillator a]\ngamma = 1\nsigma = 0.2\nK = 0.1\nnbar = 1\n")
    case("one oscillator x 40,000 levels under --memory-limit 2G", [f"{tmp}/one.ini", "--levels", "40000", "--memory-limit", "2G"],
         "direct", "GMRES's plan does not fit")
    # Fig. 4 (1,751 unknowns: the LU is planned first; about 10 MB) under a limit of 8 MB: the
    # LU would take more than half of it
    case("Fig. 4 under --memory-limit 8M", [os.path.join(EXAMPLES, "fig4.ini"), "--memory-limit", "8M"], "iterative",
         "LU would need")

    # a sweep of Fig. 4 x 6 levels from weak to strong coupling: GMRES converges at the weak
    # points, the LU finishes the strong ones; the same numbers as the LU, for any thread count
    def sweep(tag, extra, vary=("--vary", "A-C,B-C=0.05:1.5:24")):
        out = os.path.join(tmp, tag)
        p = subprocess.run([QSYNC, "sweep", os.path.join(EXAMPLES, "fig4.ini"), "--levels", "6", *vary,
                            "--out", out, "--no-plot", "--no-truncation-check"] + extra, capture_output=True, text=True)
        if p.returncode != 0:
            check(f"sweep {tag}", False, p.stderr.strip()[-300:])
            return None
        with open(os.path.join(out, "sweep.csv")) as f:
            text = f.read()
        return text, list(csv.DictReader(text.splitlines()))

    lu = sweep("direct", ["--solver", "direct"])
    a1 = sweep("auto1", ["--threads", "1"])
    a2 = sweep("auto2", ["--threads", "2"])
    a2b = sweep("auto2b", ["--threads", "2"])
    if lu and a1 and a2 and a2b:
        cols = [c for c in lu[1][0] if c.startswith("S_")]
        dS = max(abs(float(x[c]) - float(y[c])) for x, y in zip(lu[1], a1[1]) for c in cols)
        check("auto sweep, weak to strong coupling, equals the LU's", len(a1[1]) == 24 and dS <= 1e-8, f"max |dS| {dS:.2e}")
        check("auto sweep: the same file on every run with 2 threads", a2[0] == a2b[0])
        check("auto sweep: 1 thread and 2 threads (blocks of 16 points on each) give the same file", a1[0] == a2[0])

    # a sweep's later points by GMRES preconditioned by an earlier point's UMFPACK factorisation
    # (Fig. 4 x 6 levels along V2): S as the sweep that factorises every point (--cold-start) to
    # 1e-10, the same file for any thread count; the factorising sweep equals lone solves bit for bit
    V1 = ["--set", "A-C=0.25", "--set", "B-C=0.25"]

    def v2_sweep(tag, extra):
        return sweep(tag, ["--solver", "direct", "--lu", "umfpack"] + V1 + extra, ("--vary", "A-B=-0.2:0.2:20"))

    r1, r2, cold = v2_sweep("reuse1", ["--threads", "1"]), v2_sweep("reuse2", ["--threads", "2"]), v2_sweep("cold", ["--cold-start"])
    if r1 and r2 and cold:
        cols = [c for c in cold[1][0] if c.startswith("S_")]
        dS = max(abs(float(x[c]) - float(y[c])) for x, y in zip(cold[1], r1[1]) for c in cols)
        differ = sum(x[c] != y[c] for x, y in zip(cold[1], r1[1]) for c in cols)
        check("sweep along V2 by earlier factorisations: S equals --cold-start's (a factorisation at every point) to 1e-10, "
              "and differs from it in the last bits somewhere (the reuse ran)", len(r1[1]) == 20 and dS <= 1e-10 and differ > 0,
              f"max |dS| {dS:.2e}, {differ} values differ")
        check("sweep along V2 by earlier factorisations: the same file with 1 and 2 threads", r1[0] == r2[0])
        # a sweep runs OpenBLAS on one thread; a lone solve on one thread too gives the same bits
        last = cold[1][-1]
        d, err = steady([os.path.join(EXAMPLES, "fig4.ini"), "--levels", "6", "--lu", "umfpack"] + V1 + ["--set", f"A-B={last['A-B']}"],
                        "direct", {"OPENBLAS_NUM_THREADS": "1"})
        same = d is not None and all(float(last[f"S_{p['a']}-{p['b']}"]) == p["S"] for p in d["pairs"])
        check("--cold-start: the sweep's last point equals a lone qsync steady (one BLAS thread) bit for bit", same, err)

    # along the detuning the fill of UMFPACK's factorisation changes with the values (pivoting),
    # and which point a thread's plan factorises first depends on the schedule: the reuse's
    # decisions come from the symbolic analysis alone, so the file is the same for any threads
    c1, c2 = (sweep(f"detune{t}", ["--solver", "direct", "--lu", "umfpack", "--levels", "5", "--threads", t] + V1,
                    ("--vary", "C.omega=0:3:32")) for t in ("1", "2"))
    if c1 and c2:
        check("sweep along the detuning at 5 levels (UMFPACK's fill varies): the same file with 1 and 2 threads", c1[0] == c2[0])

    # auto without symmetry (A-C != B-C) at 7 levels along V2: the blocks take over after L0^#'s
    # first cycle, and the plan's GMRES stays on them for its later solves until a sweep's next
    # block returns it to L0^# first, as a new plan: so the file is the same for any threads. Then
    # with the symmetry: a solve after one that ended on the blocks starts on them (every other
    # point), the same file for any threads, S as the LU's (GMRES to a residual of 1e-12)
    nosym = ["--levels", "7", "--set", "A-C=0.3", "--set", "B-C=0.5"]
    n1, n2 = (sweep(f"nosym{t}", nosym + ["--threads", t], ("--vary", "A-B=-0.5:0.5:21")) for t in ("1", "2"))
    if n1 and n2:
        check("auto along V2 without symmetry at 7 levels (blocks of 16 points): the same file with 1 and 2 threads", n1[0] == n2[0])
        # --cold-start: every point as a lone solve, bit for bit (one BLAS thread), also where the
        # plan's GMRES ended the point before on the blocks
        cs = sweep("nosymcold", nosym + ["--cold-start"], ("--vary", "A-B=0:0.0125:2"))
        if cs:
            same = True
            for row in cs[1]:
                d, err = steady([os.path.join(EXAMPLES, "fig4.ini")] + nosym + ["--set", f"A-B={row['A-B']}"], "auto",
                                {"OPENBLAS_NUM_THREADS": "1"})
                same = same and d is not None and all(float(row[f"S_{q['a']}-{q['b']}"]) == q["S"] for q in d["pairs"])
            check("auto without symmetry, --cold-start: each point equals a lone qsync steady bit for bit (the second after "
                  "one that ended on the blocks)", same and len(cs[1]) == 2, err if not same else "")
    sym = ["--levels", "7", "--set", "A-C=0.5", "--set", "B-C=0.5"]
    s1, s2, slu = (sweep(f"sym{t}", sym + extra, ("--vary", "A-B=0:0.5:21"))
                   for t, extra in (("1", ["--threads", "1"]), ("2", ["--threads", "2"]), ("lu", ["--solver", "direct"])))
    if s1 and s2 and slu:
        cols = [c for c in slu[1][0] if c.startswith("S_")]
        dS = max(abs(float(x[c]) - float(y[c])) for x, y in zip(slu[1], s1[1]) for c in cols)
        check("auto along V2 with the symmetry at 7 levels (the blocks from the start at every other point): the same file "
              "with 1 and 2 threads, S as the LU's to 5e-8 (measured 8.1e-9)", s1[0] == s2[0] and len(s1[1]) == 21 and dS <= 5e-8, f"max |dS| {dS:.2e}")

    # the LU under --lu auto: by AMD's estimate of KLU's flops, not by the size
    def lu_case(name, args, want):
        d, err = steady(args + ["--lu", "auto"], "direct")
        other, err2 = steady(args + ["--lu", "umfpack" if want == "klu" else "klu"], "direct")
        if d is None or other is None:
            check(name, False, err or err2)
            return
        ok = d["lu"] == want and (d["lu_flops_estimate"] <= 3e7) == (want == "klu")
        check(f"{name}: --lu auto takes {want}", ok, f"{d['lu']}, {d['lu_flops_estimate']:.3g} flops, {d['system_dimension']} unknowns")
        dS = max(abs(a["S"] - b["S"]) for a, b in zip(d["pairs"], other["pairs"]))
        check(f"{name}: S equals the other LU's to 1e-12", dS <= 1e-12 and d["residual"] <= 1e-12, f"max |dS| {dS:.2e}")
        planned, predicted = d["memory_planned_bytes"], d["predicted_memory_bytes"]
        check(f"{name}: the memory plan and prediction are given", planned > 0 and predicted > 0, f"{planned}, {predicted}")

    with open(f"{tmp}/pair.ini", "w") as f:
        f.write("[defaults]\ngamma = 1\nsigma = 0.2\nK = 5\nnbar = 4\nlevels = 18\n"
                "[oscillator 1]\nomega = 3\n[oscillator 2]\n[coupling]\n1-2 = 0.1\n")
    lu_case("two oscillators x 18 levels (3,894 unknowns)", [f"{tmp}/pair.ini"], "klu")
    lu_case("Fig. 4 x 7 levels", [os.path.join(EXAMPLES, "fig4.ini"), "--levels", "7"], "umfpack")
finish()
