"""The iterative solver on the orbits of the symmetry group against the whole sector's solve.

Usage: iterative_symmetry.py QSYNC
- on rings of 4, 5 and 6 oscillators (A/B alternating as in bench/scaling, and identical)
  and on a chain of three with equal ends (a reflection only), GMRES with the symmetry gives
  every pair's numbers (S, S_Q, correlation, ...) of GMRES without it (--no-symmetry) to
  1e-10, and those of the LU to 1e-10; every oscillator's (mean, variance, populations) to
  1e-9 (GMRES stops at a relative residual of 1e-12: the two solves without and with the
  symmetry, and the LU, differ by a few 1e-10 in the variance of n);
- the group's order and the number of unknowns it reports are those counted here from the
  model by brute force (every permutation of the oscillators; the orbits of the sector's
  elements (s, t) -> (pi s, pi t)), and without symmetry the unknowns are the sector's;
- the state passes the whole sector's checks: residual of the whole L, trace, Hermiticity;
- under a --memory-limit that the stored operator does not fit (but the rest does), the
  operator is not stored (the solver's reason says so) and the numbers equal the stored
  operator's to 1e-12 in as many iterations, with a smaller predicted memory; under one that a
  Krylov basis of 40 vectors does not fit, GMRES restarts sooner (said in the reason) and the
  numbers equal the LU's to 1e-10.
"""
import itertools
import json
import os
import subprocess
import sys
import tempfile

from checks import check, finish

QSYNC = sys.argv[1]
TOL = 1e-10          # pairs
TOL_OSC = 1e-9       # oscillators
PAIR_KEYS = ("S", "S_Q", "correlation", "mutual_information", "c1_re", "c1_im", "min_eigenvalue")
OSC_KEYS = ("mean_n", "var_n", "top_population")


def model_file(tmp, name, kinds, edges, levels):
    """kinds: 'A' or 'B' per oscillator (B detuned by 2K, as bench/scaling's ring); edges: pairs coupled by 0.1"""
    names = [f"{k}{i}" for i, k in enumerate(kinds)]
    text = f"[defaults]\ngamma = 1\nsigma = 0.2\nK = 10\nnbar = 1\nlevels = {levels}\n"
    for x in names:
        text += f"[oscillator {x}]\n" + ("omega = 20\n" if x[0] == "B" else "")
    text += "[coupling]\n" + "".join(f"{names[a]}-{names[b]} = 0.1\n" for a, b in edges)
    path = os.path.join(tmp, name + ".ini")
    with open(path, "w") as f:
        f.write(text)
    return path


def group(kinds, edges):
    """every permutation of the oscillators keeping the kinds and the coupled pairs"""
    n = len(kinds)
    pairs = {frozenset(e) for e in edges}
    return [p for p in itertools.permutations(range(n))
            if all(kinds[p[j]] == kinds[j] for j in range(n)) and {frozenset((p[a], p[b])) for a, b in pairs} == pairs]


def orbit_count(n, levels, perms):
    """orbits of the sector elements (s, t), equal total excitation, under (s, t) -> (pi s, pi t)"""
    states = list(itertools.product(range(levels), repeat=n))
    by_total = {}
    for s in states:
        by_total.setdefault(sum(s), []).append(s)
    seen, orbits, sector = set(), 0, 0
    for block in by_total.values():
        for s in block:
            for t in block:
                sector += 1
                if (s, t) in seen:
                    continue
                orbits += 1
                for p in perms:     # p[j] = image of j: occupation of j moves to p[j]
                    ps, pt = [0] * n, [0] * n
                    for j in range(n):
                        ps[p[j]], pt[p[j]] = s[j], t[j]
                    seen.add((tuple(ps), tuple(pt)))
    return orbits, sector


def steady(path, *args):
    p = subprocess.run([QSYNC, "steady", path, "--json"] + list(args), capture_output=True, text=True)
    if p.returncode != 0 or not p.stdout.strip():
        raise RuntimeError(f"qsync steady {path} {' '.join(args)}: exit {p.returncode}: {p.stderr.strip()}")
    return json.loads(p.stdout)


def differences(a, b):
    """largest differences of the pairs' numbers and of the oscillators' numbers"""
    dp = max(abs(x[k] - y[k]) for x, y in zip(a["pairs"], b["pairs"]) for k in PAIR_KEYS)
    do = max(max([abs(x[k] - y[k]) for k in OSC_KEYS] + [abs(u - v) for u, v in zip(x["populations"], y["populations"])])
             for x, y in zip(a["oscillators"], b["oscillators"]))
    return dp, do


def case(tmp, name, kinds, edges, levels):
    path = model_file(tmp, name, kinds, edges, levels)
    perms = group(kinds, edges)
    orbits, sector = orbit_count(len(kinds), levels, perms)
    try:
        sym = steady(path, "--solver", "iterative")
        whole = steady(path, "--solver", "iterative", "--no-symmetry")
        lu = steady(path, "--solver", "direct")
    except RuntimeError as e:
        check(name, False, str(e))
        return
    check(f"{name}: the group and its orbits", sym["symmetry_order"] == len(perms) and sym["system_dimension"] == orbits
          and sym["sector_dimension"] == sector and whole["symmetry_order"] == 1 and whole["system_dimension"] == sector,
          f"order {sym['symmetry_order']} (counted {len(perms)}), {sym['system_dimension']} unknowns (counted {orbits}) "
          f"of {sector}; without symmetry {whole['system_dimension']}")
    dp, do = differences(sym, whole)
    dS = max(abs(x["S"] - y["S"]) for x, y in zip(sym["pairs"], whole["pairs"]))
    check(f"{name}: with the symmetry = without", dp <= TOL and do <= TOL_OSC and len(sym["pairs"]) == len(whole["pairs"]) > 0,
          f"max difference {dp:.1e} in the pairs (S {dS:.1e}), {do:.1e} in the oscillators; iterations {sym['iterations']} "
          f"with, {whole['iterations']} without")
    dp, do = differences(sym, lu)
    check(f"{name}: with the symmetry = the LU", dp <= TOL and do <= TOL_OSC,
          f"max difference {dp:.1e} in the pairs, {do:.1e} in the oscillators")
    check(f"{name}: whole-sector checks", sym["residual"] <= 1e-11 and sym["trace_error"] <= 1e-12
          and sym["hermiticity_error"] <= 1e-10,
          f"residual {sym['residual']:.1e}, trace {sym['trace_error']:.1e}, hermiticity {sym['hermiticity_error']:.1e}")


def ring(n):
    return [(j, (j + 1) % n) for j in range(n)]


def short_of_memory(tmp):
    name = "ring of 6 x 3, identical"
    path = model_file(tmp, "short", ["A"] * 6, ring(6), 3)
    try:
        stored = steady(path, "--solver", "iterative")
        lu = steady(path, "--solver", "direct")
        P, nnz, unknowns = stored["memory_planned_bytes"], stored["nnz"], stored["system_dimension"]
        implicit = steady(path, "--solver", "iterative", "--memory-limit", str(int(P - 10 * nnz)))
        shorter = steady(path, "--solver", "iterative", "--memory-limit", str(int(P - 20 * nnz - 16 * 12 * unknowns)))
    except (RuntimeError, KeyError) as e:
        check(f"{name}, short of memory", False, str(e))
        return
    why = implicit["solver_reason"]
    check(f"{name}: the operator not stored under --memory-limit {int(P - 10 * nnz)} (stored plan {P:.0f} bytes)",
          "not stored" in why and "not stored" not in stored["solver_reason"]
          and implicit["memory_planned_bytes"] < P - 10 * nnz, f"reason: {why!r}; planned {implicit['memory_planned_bytes']:.0f} bytes")
    dp, do = differences(implicit, stored)
    check(f"{name}: not stored = stored", dp <= 1e-12 and do <= 1e-12 and implicit["iterations"] == stored["iterations"],
          f"max difference {dp:.1e} in the pairs, {do:.1e} in the oscillators; iterations {implicit['iterations']} and "
          f"{stored['iterations']}; residual {implicit['residual']:.1e}")
    why = shorter["solver_reason"]
    check(f"{name}: a shorter restart under --memory-limit {int(P - 20 * nnz - 16 * 12 * unknowns)}", "restarts every" in why
          and "restarts every" not in stored["solver_reason"], f"reason: {why!r}")
    dp, do = differences(shorter, lu)
    check(f"{name}: shorter restart = the LU", dp <= TOL and do <= TOL_OSC and shorter["residual"] <= 1e-11,
          f"max difference {dp:.1e} in the pairs, {do:.1e} in the oscillators; residual {shorter['residual']:.1e}")


with tempfile.TemporaryDirectory() as tmp:
    for n, levels in ((4, 4), (5, 3), (6, 3)):
        case(tmp, f"ring of {n} x {levels}, alternating", ["A" if j % 2 == 0 else "B" for j in range(n)], ring(n), levels)
        case(tmp, f"ring of {n} x {levels}, identical", ["A"] * n, ring(n), levels)
    case(tmp, "chain of 3 x 4, equal ends", ["A", "B", "A"], [(0, 1), (1, 2)], 4)
    short_of_memory(tmp)
finish()
