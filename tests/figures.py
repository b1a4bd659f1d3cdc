#!/usr/bin/env python3
"""`qsync figure all`: the features the paper's text describes, asserted on the CSVs.
One PASS/FAIL line per check."""
import csv
import os
import subprocess
import sys
import tempfile

from checks import check, finish
from plot_legend import check_script

QSYNC = sys.argv[1]
# each figure's sweeps: their folders inside the figure's (None: the figure's own)
SWEEPS = {"tongue": ("classical", "quantum")}
FIGURES = ("2a", "2b", "3a", "3b", "3c", "3d", "4a", "4b", "4c", "4d", "tongue", "ring4", "ring6")


def load(out, name, folder=None, file="sweep.csv"):
    rows = list(csv.reader(open(os.path.join(out, name, folder or "", file))))
    head = rows[0]
    return head, [[float(x) if x not in ("ok", "top-level", "truncation", "numerical", "memory", "input") else x for x in r]
                  for r in rows[1:]]


def argmax_local(xs, ys):
    """x positions of strict local maxima of the sampled curve"""
    return [xs[i] for i in range(1, len(ys) - 1) if ys[i] > ys[i - 1] and ys[i] > ys[i + 1]]


with tempfile.TemporaryDirectory() as out:
    r = subprocess.run([QSYNC, "figure", "all", "--out", out], capture_output=True, text=True)
    check("qsync figure all exits 0", r.returncode == 0, r.stderr[-300:])
    for name in FIGURES:
        want = [os.path.join(name, f) for f in ("figure.gp", "figure.png")] + \
               [os.path.join(name, d or "", f) for d in SWEEPS.get(name, (None,)) for f in ("model.ini", "sweep.csv")]
        files = [f for f in want if os.path.exists(os.path.join(out, f)) and os.path.getsize(os.path.join(out, f)) > 0]
        check(f"figure {name}: figure.gp, figure.png and each sweep's model.ini and sweep.csv written", files == want,
              str(sorted(set(want) - set(files))))
    # the truncation error of S: every point ok; ring6 alone cannot be estimated (top-level, with
    # the figure's line saying so); 3a's band where the estimate overstates the error, said too
    S_TOL = 5e-3
    bad = []
    for name, folder in [(n, d) for n in FIGURES for d in SWEEPS.get(n, (None,))]:
        head, rows = load(out, name, folder)
        st = head.index("status")
        allowed = {"ring6": ("ok", "top-level"), "3a": ("ok", "truncation"), "3d": ("ok", "truncation")}.get(name, ("ok",))
        bad += [(name, row[st]) for row in rows if row[st] not in allowed]
        if name in ("2a", "ring6") or folder == "classical":
            continue
        label = f"{name}/{folder}" if folder else name
        te = head.index("truncation_error") if "truncation_error" in head else None
        # 3a, 3d: a band where the estimate overstates the error (the figure says so, with the
        # error against many more levels); the estimate there stays below these bounds
        bound = {"3a": 0.015, "3d": 0.03}.get(name)
        over = [row[te] for row in rows if te is None or not row[te] <= S_TOL] if bound is None else \
               [row[te] for row in rows if te is None or not row[te] <= bound or (row[te] > S_TOL) != (row[st] == "truncation")]
        check(f"figure {label}: column truncation_error last, {'below' if bound is None else 'status truncation exactly above'} "
              f"s_tol = {S_TOL} at every point", te is not None and te == len(head) - 1 and not over, str(over[:5]))
    check("every point of every figure ok (ring6: top-level; 3a, 3d: ok or truncation)", not bad, str(bad[:5]))
    head, rows = load(out, "ring6")
    check("ring6: not estimated (truncation_error nan, top-level) and the figure says why, naming ring4",
          all(r[head.index("truncation_error")] != r[head.index("truncation_error")] for r in rows)
          and "qsync figure ring6:" in r.stderr and "cannot be estimated" in r.stderr and "ring4" in r.stderr, r.stderr[-400:])
    for name, levels in (("3a", "26 levels"), ("3d", "36 levels")):
        head, rows = load(out, name)
        n = sum(row[head.index("status")] == "truncation" for row in rows)
        check(f"{name}: the points that read truncation are explained by the figure (against {levels})",
              n == 0 or f"qsync figure {name}: {n} points do not read ok:" in r.stderr and levels in r.stderr, str(n))
    # every script names its columns by header, every legend the column it draws
    for name in FIGURES:
        check_script(os.path.join(out, name, "figure.gp"), f"figure {name}")

    # 2a (classical): S/V largest at Delta = 0 for every V, falling off on both sides; S_err <= 0.005
    head, rows = load(out, "2a")
    check("2a: S_err at most 0.005 at every point (adaptive ensembles)", max(r[3] for r in rows) <= 0.005,
          f"largest {max(r[3] for r in rows):.5f}")
    for V in sorted(set(r[0] for r in rows)):
        sel = {r[1]: r[2] / V for r in rows if r[0] == V}
        top = max(sel, key=sel.get)
        check(f"2a, V = {V:.4f}: S/V largest near Delta = 0 and below 30% of it at Delta = +-3",
              abs(top) <= 0.25 and sel[3.0] < 0.3 * sel[top] and sel[-3.0] < 0.3 * sel[top],
              f"max {sel[top]:.2f} at {top:.2f}, {sel[-3.0]:.2f} / {sel[3.0]:.2f} at -3 / 3")

    # 2b: minimum at 0, maxima at +-2K = +-20 for every V; peak S/V falls with V; V -> 0 approaches first order
    head, rows = load(out, "2b")
    peaks = []
    for V in (0.05, 0.2, 0.35, 0.5):
        sel = [r for r in rows if abs(r[0] - V) < 1e-9]
        xs, ys = [r[1] for r in sel], [r[2] / V for r in sel]
        d = dict(zip(xs, ys))
        lmax = max((y, x) for x, y in zip(xs, ys) if x < 0)[1], max((y, x) for x, y in zip(xs, ys) if x > 0)[1]
        check(f"2b, V = {V}: local minimum at Delta = 0", d[0] < d[0.25] and d[0] < d[-0.25], f"{d[-0.25]:.4f} {d[0]:.4f} {d[0.25]:.4f}")
        check(f"2b, V = {V}: maxima at Delta = +-2K (within 2.5, shifting with V)", abs(lmax[0] + 20) <= 2.5 and abs(lmax[1] - 20) <= 2.5, str(lmax))
        peaks.append(max(ys))
        if V == 0.05:
            first = max(r[6] / V for r in sel)
            check("2b: at V = 0.05 the peak S/V is within 2% of first order", abs(max(ys) - first) < 0.02 * first, f"{max(ys):.4f} vs {first:.4f}")
    check("2b: peak S/V falls as V grows", all(a > b for a, b in zip(peaks, peaks[1:])), str([round(p, 4) for p in peaks]))

    # tongue, classical (Fig. 2a model): the beat nu_1 - nu_2 against (Delta, V). Uncoupled, the
    # oscillators differ only in omega, so the beat is Delta; exchanging them turns Delta and the
    # beat around. Phase reduction (MODEL.md §3, §9): the coupling moves x = |alpha|^2 by
    # dx_1 = -dx_2 = -2 V x0 sin(psi) / lam (lam = x0 Gamma'(x0), Gamma(x0) = 0) and the Kerr term
    # turns that into frequency: d psi/dt = -Delta - (8 K V x0 / lam) sin psi, locked for
    # |Delta| < Dc = 8 K V x0 / lam, the beat sqrt(Delta^2 - Dc^2) beyond: half of Delta at
    # Delta = Dc / sqrt(3/4). Noise (phase slips) can only narrow that tongue.
    head, rows = load(out, "tongue", "classical")
    ib, ie, iv, idl = head.index("beat_1-2"), head.index("beat_err_1-2"), head.index("1-2"), head.index("1.omega")
    Vs = sorted(set(r[iv] for r in rows))
    beat = {(r[iv], r[idl]): (r[ib], r[ie]) for r in rows}
    free = [(d, *beat[(0.0, d)]) for v, d in beat if v == 0]
    z = [abs(b - d) / e for d, b, e in free]
    check("tongue, classical, V = 0: beat = Delta at every point within 4.5 errors, mean squared deviation below 2 errors^2",
          len(free) > 20 and max(z) < 4.5 and sum(x * x for x in z) / len(z) < 2, f"{len(free)} points, largest {max(z):.2f}, "
          f"mean square {sum(x * x for x in z) / len(z):.2f}")
    anti = [abs(b + beat[(v, -d)][0]) / (e * e + beat[(v, -d)][1] ** 2) ** 0.5 for (v, d), (b, e) in beat.items() if d > 0]
    check("tongue, classical: beat(-Delta) = -beat(Delta) within 5 errors (exchanging the oscillators)",
          len(anti) > 100 and max(anti) < 5, f"{len(anti)} pairs, largest {max(anti):.2f}")
    lock = [(d, beat[(Vs[-1], d)][0]) for v, d in beat if v == Vs[-1] and 0 < abs(d) <= 2]
    check(f"tongue, classical, V = {Vs[-1]:.2f}: locked for 0 < |Delta| <= 2 (|beat| < 0.2 |Delta|)",
          len(lock) >= 8 and all(abs(b) < 0.2 * abs(d) for d, b in lock), str([(d, round(b, 3)) for d, b in lock]))
    loose = [(d, beat[(Vs[1], d)][0]) for v, d in beat if v == Vs[1] and abs(d) >= 2]
    check(f"tongue, classical, V = {Vs[1]:.2f}: free for |Delta| >= 2 (|beat| > 0.8 |Delta|)",
          len(loose) >= 8 and all(abs(b) > 0.8 * abs(d) for d, b in loose), str([(d, round(b, 3)) for d, b in loose][:6]))
    sig, x0 = 0.2, 2.5                      # nbar 2: Gamma(x) = f_-(x) - f_+(x) vanishes at x0 = 2.5
    dgam = 2 * 0.5 * sig ** 2 / (0.25 + sig ** 2) ** 2 * 2
    lam, Kc = x0 * dgam, 2.0
    width = []
    for v in Vs[2:]:
        ds = sorted(d for vv, d in beat if vv == v and d > 0)
        w = min([d for d in ds if abs(beat[(v, d)][0]) > d / 2 and abs(beat[(v, -d)][0]) > d / 2] or [float("inf")])
        width.append((v, w, w / (8 * Kc * v * x0 / lam / 0.75 ** 0.5)))
    check("tongue, classical: the tongue's half-width (|beat| = |Delta|/2 on both sides) grows with V",
          all(a[1] <= b[1] for a, b in zip(width, width[1:])) and width[-1][1] >= 4 * width[0][1],
          str([(round(v, 2), w) for v, w, _ in width]))
    check("tongue, classical: half-width / V is 0.55 to 1.0 times phase reduction's 8 K x0 / (lam sqrt(3/4)) "
          f"= {8 * Kc * x0 / lam / 0.75 ** 0.5:.1f} (noise narrows it)", all(0.55 <= q <= 1.0 for _, _, q in width),
          str([(round(v, 2), round(q, 2)) for v, _, q in width]))

    # tongue, quantum (Fig. 2b model): no tongue at Delta = 0 but two at +-2K (the blockade)
    head, rows = load(out, "tongue", "quantum")
    iv, idl, iS = head.index("1-2"), head.index("1.omega"), head.index("S_1-2")
    qV = sorted(set(r[iv] for r in rows))
    zero = max(abs(r[iS]) for r in rows if r[iv] == 0)
    check("tongue, quantum, V = 0: S = 0 at every Delta (to 1e-12)", zero <= 1e-12, f"largest {zero:.1e}")
    for v in qV[1:]:
        sel = sorted((r[idl], r[iS]) for r in rows if r[iv] == v)
        xs, ys = [x for x, _ in sel], [y for _, y in sel]
        peaks = argmax_local(xs, ys)
        d = dict(sel)
        check(f"tongue, quantum, V = {v:.2f}: S has its maxima within 2.5 of Delta = +-2K = +-20, a minimum at Delta = 0 "
              "below 55% of them", len(peaks) == 2 and abs(peaks[0] + 20) <= 2.5 and abs(peaks[1] - 20) <= 2.5
              and d[0] < d[-0.5] and d[0] < d[0.5] and d[0] < 0.55 * max(ys), f"maxima at {peaks}, S(0) = {d[0]:.4f}, max {max(ys):.4f}")

    # 3a: two maxima at +-2K at sigma = 0.2 (K = 5) merging into one at 0 for large sigma
    head, rows = load(out, "3a")
    def cut(sig):
        sel = [r for r in rows if abs(r[1] - sig) < 1e-9]
        return [r[0] for r in sel], [r[2] for r in sel]
    xs, ys = cut(0.2)
    left, right = max((y, x) for x, y in zip(xs, ys) if x < 0)[1], max((y, x) for x, y in zip(xs, ys) if x > 0)[1]
    d = dict(zip(xs, ys))
    check("3a, sigma = 0.2: maxima near Delta = +-2K = +-10 and a dip at 0", abs(left + 10) <= 3 and abs(right - 10) <= 3 and d[0] < 0.9 * max(ys),
          f"{left}, {right}, S(0) = {d[0]:.4f}, max {max(ys):.4f}")
    xs, ys = cut(0.8)
    check("3a, sigma = 0.8: a single maximum at Delta = 0", max(zip(ys, xs))[1] == 0 and argmax_local(xs, ys) == [0], str(argmax_local(xs, ys)))

    # 3b: maxima at nbar2 = nbar1 +- 1 at small sigma, at nbar2 = nbar1 at large sigma
    head, rows = load(out, "3b")
    def cut_b(sig):
        sel = [r for r in rows if abs(r[1] - sig) < 1e-9]
        return [r[0] for r in sel], [r[2] for r in sel]
    xs, ys = cut_b(0.2)
    top = sorted(zip(ys, xs), reverse=True)
    m1 = max((y, x) for x, y in zip(xs, ys) if x < 4)[1]; m2 = max((y, x) for x, y in zip(xs, ys) if x > 4)[1]
    d = dict(zip(xs, ys))
    check("3b, sigma = 0.2: maxima near nbar2 = 3 and 5, a dip at nbar2 = 4", abs(m1 - 3) <= 0.35 and abs(m2 - 5) <= 0.35 and d[4] < 0.8 * top[0][0],
          f"{m1}, {m2}, S(4) = {d[4]:.4f}, max {top[0][0]:.4f}")
    xs, ys = cut_b(0.8)
    d = dict(zip(xs, ys))
    m = max(zip(ys, xs))
    check("3b, sigma = 0.8: no dip at nbar2 = nbar1 any more: the maximum within 0.6 of 4 and S(4) within 3% of it",
          abs(m[1] - 4) <= 0.6 and d[4] >= 0.97 * m[0], f"max {m[0]:.4f} at {m[1]}, S(4) = {d[4]:.4f}")

    # 3c: the strongest points lie on the Eq. 7 lines Delta = -2K(dn +- 1), K = 5, dn = nbar2 - 4
    head, rows = load(out, "3c")
    # one quantum moves between integer levels: Eq. 7 at the integer dn next to the amplitude difference
    import math
    best = sorted(rows, key=lambda r: -r[2])[:40]
    def eq7(dn, delta):
        return min(abs(delta + 10 * (k + s)) for k in (math.floor(dn), math.ceil(dn)) for s in (1, -1))
    dist = [eq7(r[0] - 4, r[1]) for r in best]
    check("3c: the 40 largest S lie within 3.5 of Eq. 7 (about the resonance width; dn at the neighbouring integers)", max(dist) <= 3.5,
          f"worst {max(dist):.2f}")
    on = [r[2] for r in rows if eq7(r[0] - 4, r[1]) <= 2.5]
    off = [r[2] for r in rows if eq7(r[0] - 4, r[1]) > 6]
    check("3c: S on the Eq. 7 lines is on average 2x S away from them", sum(on) / len(on) > 2 * sum(off) / len(off),
          f"{sum(on) / len(on):.4f} vs {sum(off) / len(off):.4f}")

    # 3d: suppressed at small K, split at large K
    head, rows = load(out, "3d")
    Ks = sorted(set(r[0] for r in rows))
    def cut_d(K):
        sel = [r for r in rows if r[0] == K]
        return [r[1] for r in sel], [r[2] for r in sel]
    xs, ys = cut_d(Ks[0])
    big = max(r[2] for r in rows)
    check(f"3d: suppressed at small K (K = {Ks[0]}: max S below 60% of the map's)", max(ys) < 0.6 * big, f"{max(ys):.4f} vs {big:.4f}")
    xs, ys = cut_d(Ks[-1])
    d = dict(zip(xs, ys))
    left, right = max((y, x) for x, y in zip(xs, ys) if x < 0)[1], max((y, x) for x, y in zip(xs, ys) if x > 0)[1]
    check(f"3d: split at large K (K = {Ks[-1]}: maxima near +-2K, dip at 0)", abs(left + 2 * Ks[-1]) <= 3 and abs(right - 2 * Ks[-1]) <= 3 and d[0] < 0.8 * max(ys),
          f"{left}, {right}")

    # 4b: S_AB maxima at Delta = +-2K = +-20 (identical A, B synchronized through detuned C)
    head, rows = load(out, "4b")
    iab = head.index("S_A-B")
    for V1 in (0.1, 0.3, 0.5):
        sel = [r for r in rows if abs(r[1] - V1) < 1e-9]
        xs, ys = [r[0] for r in sel], [r[iab] for r in sel]
        if not sel:
            check(f"4b: grid has V1 = {V1}", False)
            continue
        left, right = max((y, x) for x, y in zip(xs, ys) if x < 0)[1], max((y, x) for x, y in zip(xs, ys) if x > 0)[1]
        d = dict(zip(xs, ys))
        check(f"4b, V1 = {V1}: S_AB maxima at Delta = +-20, far above Delta = 0", abs(left + 20) <= 3 and abs(right - 20) <= 3 and d[0] < 0.25 * max(ys),
              f"{left}, {right}, S(0) = {d[0]:.4f}, max {max(ys):.4f}")

    # 4d: a strip of suppressed S_AB where direct (V2 < 0) and mediated coupling cancel, moving with V1
    head, rows = load(out, "4d")
    iab = head.index("S_A-B")
    where = []
    for V1 in (0.1, 0.15, 0.2):
        sel = [r for r in rows if abs(r[0] - V1) < 1e-9]
        line = [(r[iab], r[1]) for r in sel]
        low, at = min(line)
        where.append(at)
        check(f"4d, V1 = {V1}: S_AB nearly vanishes at an interior V2 < 0 (below 15% of the line's maximum)",
              at < 0 and low < 0.15 * max(line)[0] and at > -0.5, f"min {low:.4f} at V2 = {at}, max {max(line)[0]:.4f}")
    check("4d: the strip moves to stronger direct coupling as V1 grows", where[0] > where[1] > where[2], str(where))

    # ring6 (GMRES, 1.7 million unknowns a point): mediated synchronization of identical
    # oscillators survives in the larger ring, at the resonance Delta = +-2K, blocked at 0
    head, rows = load(out, "ring6")
    h4, r4 = load(out, "ring4")
    col = {k: head.index(k) for k in ("S_A-A2", "S_A-A3", "S_B-B2", "S_B-B3", "S_A-B")}
    d_sym = max(max(abs(r[col["S_A-A2"]] - r[col["S_A-A3"]]), abs(r[col["S_B-B2"]] - r[col["S_B-B3"]])) for r in rows)
    check("ring6: identical pairs equivalent by the ring's symmetry agree to 1e-8 (S_A-A2 = S_A-A3, S_B-B2 = S_B-B3)",
          d_sym <= 1e-8, f"largest difference {d_sym:.1e}")
    aa = {r[0]: r[col["S_A-A2"]] for r in rows}
    bb = {r[0]: r[col["S_B-B2"]] for r in rows}
    top_aa, top_bb = max(aa, key=aa.get), max(bb, key=bb.get)
    check("ring6: S_A-A2 peaks at Delta = +2K, S_B-B2 at -2K, both over 10x their value at Delta = 0",
          top_aa == 20 and top_bb == -20 and aa[20] > 10 * aa[0] and bb[-20] > 10 * bb[0],
          f"S_A-A2 max {aa[top_aa]:.4f} at {top_aa} (at 0: {aa[0]:.5f}); S_B-B2 max {bb[top_bb]:.4f} at {top_bb}")
    ring4_aa = {r[0]: r[h4.index("S_A-A2")] for r in r4}
    ratio = aa[20] / ring4_aa[20]
    check("ring6: one mediating path instead of the ring of four's two: S_A-A2 at +2K between 0.3 and 0.8 of ring4's",
          0.3 < ratio < 0.8, f"{aa[20]:.4f} vs {ring4_aa[20]:.4f} (ratio {ratio:.2f})")

finish()
