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
FIGURES = ("2a", "2b", "3a", "3b", "3c", "3d", "4a", "4b", "4c", "4d", "spectra", "tongue", "ring4", "ring6", "ring8")


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
    # the truncation error of S: every point ok; ring6 and ring8 alone cannot be estimated (top-level,
    # with the figure's line saying so); 3a's band where the estimate overstates the error, said too
    S_TOL = 5e-3
    bad = []
    for name, folder in [(n, d) for n in FIGURES for d in SWEEPS.get(n, (None,))]:
        head, rows = load(out, name, folder)
        st = head.index("status")
        allowed = {"ring6": ("ok", "top-level"), "ring8": ("ok", "top-level"), "3a": ("ok", "truncation"), "3d": ("ok", "truncation")}.get(name, ("ok",))
        bad += [(name, row[st]) for row in rows if row[st] not in allowed]
        if name in ("2a", "ring6", "ring8") or folder == "classical":
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
    check("every point of every figure ok (ring6, ring8: top-level; 3a, 3d: ok or truncation)", not bad, str(bad[:5]))
    for name, other in (("ring6", "ring4"), ("ring8", "ring6")):
        head, rows = load(out, name)
        said = [line for line in r.stderr.splitlines() if line.startswith(f"qsync figure {name}:") and "cannot be estimated" in line]
        check(f"{name}: not estimated (truncation_error nan, top-level) and the figure says why, naming {other}",
              all(row[head.index("truncation_error")] != row[head.index("truncation_error")] for row in rows)
              and len(said) == 1 and other in said[0], r.stderr[-400:])
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

    # spectra (Fig. 2b model at V = 0.2, omega_2 = 0, omega_1 = Delta): S_j(omega) on a grid of
    # (Delta, omega). Bare lines (MODEL.md §8): nu = omega_j - 2K(n - 1), weight n p(n), half-width
    # kappa_n; the strongest is n = 2 (nbar = 2). A line n of oscillator 1 meets a line m of
    # oscillator 2 at Delta = 2K(n - m), where the coherences |n-1><n| and |m-1><m| are coupled by
    # the hop a_1^dag a_2 with amplitude V sqrt(n m) and hybridise: at Delta = 0 the main lines
    # (n = m = 2, amplitude 2V) into two modes split by about 4V, at Delta = +-2K the pairs
    # (n, m) = (3, 2) and (2, 1).
    head, rows = load(out, "spectra", file="spectra.csv")
    check("spectra: spectra.csv has the sweep's axis column, omega and spectrum_<j> of both oscillators",
          head == ["1.omega", "omega", "spectrum_1", "spectrum_2"], str(head))
    Ds = sorted(set(r[0] for r in rows))
    ws = sorted(set(r[1] for r in rows))
    grid = {(r[0], r[1]): (r[2], r[3]) for r in rows}
    check(f"spectra: a full grid ({len(Ds)} x {len(ws)}), every value finite and positive",
          len(rows) == len(Ds) * len(ws) == len(grid) and len(Ds) >= 101 and len(ws) >= 301
          and all(0 < v < float("inf") for r in rows for v in r[2:4]), f"{len(rows)} rows")
    dw, dD = ws[1] - ws[0], Ds[1] - Ds[0]
    K, V = 10.0, 0.2

    def at(D):
        """S_1 and S_2 against omega at the Delta of the grid nearest D"""
        D = min(Ds, key=lambda x: abs(x - D))
        return [grid[(D, w)][0] for w in ws], [grid[(D, w)][1] for w in ws]

    def peak(xs, ys, lo, hi):
        """the largest sample in [lo, hi], refined by the parabola through it and its neighbours"""
        i = max((k for k in range(1, len(xs) - 1) if lo <= xs[k] <= hi), key=lambda k: ys[k])
        a, b, c = ys[i - 1], ys[i], ys[i + 1]
        return xs[i] + 0.5 * (a - c) / (a - 2 * b + c) * (xs[1] - xs[0]), b

    def fwhm(xs, ys):
        """full width at half the global maximum, by linear interpolation"""
        i = max(range(len(ys)), key=lambda k: ys[k])
        h, l, r = ys[i] / 2, i, i
        while l > 0 and ys[l] > h:
            l -= 1
        while r < len(ys) - 1 and ys[r] > h:
            r += 1
        return (xs[r - 1] + (h - ys[r - 1]) * dw / (ys[r] - ys[r - 1])) - (xs[l] + (h - ys[l]) * dw / (ys[l + 1] - ys[l]))

    def uncoupled(omega, sig=0.2, nbar=2.0, levels=10):
        """the exact spectrum of an uncoupled oscillator (MODEL.md §8) on the grid ws"""
        f = lambda n, c: sig ** 2 / ((n - c) ** 2 + sig ** 2)
        up = lambda n: f(n + 1, nbar) * (n + 1) if n < levels - 1 else 0.0
        down = lambda n: f(n, nbar + 1) * n
        p = [1.0]
        for n in range(1, levels):
            p.append(p[-1] * up(n - 1) / down(n))
        p = [x / sum(p) for x in p]
        G = [up(n) + down(n) for n in range(levels)]
        return [sum(n * p[n] * (G[n] + G[n - 1]) / (((G[n] + G[n - 1]) / 2) ** 2 + (w - omega + 2 * K * (n - 1)) ** 2)
                    for n in range(1, levels)) for w in ws]

    # exchanging the oscillators and shifting every frequency by -Delta: S_2(omega; Delta) = S_1(omega - Delta; -Delta)
    worst, n_cmp = 0.0, 0
    for D in Ds:
        shift = round(D / dw)
        if abs(shift * dw - D) > 1e-9 or -D not in set(Ds):
            continue
        s1m, _ = at(-D)
        _, s2 = at(D)
        for k in range(len(ws)):
            if 0 <= k - shift < len(ws):
                worst = max(worst, abs(s2[k] - s1m[k - shift]) / s2[k])
                n_cmp += 1
    check("spectra: S_2(omega; Delta) = S_1(omega - Delta; -Delta) to 1e-7 (exchange and a common frequency shift), "
          "so S_1 = S_2 at Delta = 0", n_cmp > 1000 and worst < 1e-7, f"{n_cmp} values, largest relative difference {worst:.1e}")
    # the strongest line of each oscillator: n = 2, at omega_j - 2K; at Delta = 0 they coincide
    off = []
    for D in Ds:
        s1, s2 = at(D)
        p1, p2 = ws[max(range(len(ws)), key=lambda k: s1[k])], ws[max(range(len(ws)), key=lambda k: s2[k])]
        off.append(max(abs(p1 - (D - 2 * K)), abs(p2 + 2 * K)))
    check("spectra: at every Delta the strongest peak of S_1 lies at omega_1 - 2K and of S_2 at omega_2 - 2K = -20 "
          "(within 0.5; they coincide at Delta = 0)", max(off) <= 0.5, f"largest offset {max(off):.2f}")
    # far from every crossing (|Delta| = 10: the nearest lines of the other oscillator 10 away) the
    # main line is the uncoupled one: its width within 2%
    for D in (-10.0, 10.0):
        s1, s2 = at(D)
        r1, r2 = fwhm(ws, s1) / fwhm(ws, uncoupled(D)), fwhm(ws, s2) / fwhm(ws, uncoupled(0.0))
        check(f"spectra, Delta = {D:g}: both main lines have the width of the uncoupled spectrum (MODEL.md §8) within 2%",
              abs(r1 - 1) < 0.02 and abs(r2 - 1) < 0.02, f"FWHM ratios {r1:.4f}, {r2:.4f}")
    # Delta = 0: the main lines hybridise into two modes about 4V apart, unresolved under their width:
    # the peak broadens; as two Lorentzians of the uncoupled width its FWHM gives their splitting
    s1, _ = at(0.0)
    w0, wu = fwhm(ws, s1), fwhm(ws, uncoupled(0.0))
    kap = wu / 2

    def two_lorentz_fwhm(sp):
        """FWHM of two equal Lorentzians of half-width kap, sp apart (sp below 2 kap: one peak)"""
        g = lambda x: 1 / ((x - sp / 2) ** 2 + kap ** 2) + 1 / ((x + sp / 2) ** 2 + kap ** 2)
        xs = [(sp / 2 + 4 * kap) * k / 4000 for k in range(4001)]
        top = max(g(x) for x in xs)
        lo, hi = max(x for x in xs if g(x) >= top / 2), sp / 2 + 50 * kap
        for _ in range(200):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if g(mid) > top / 2 else (lo, mid)
        return 2 * lo
    lo, hi = 0.0, 4 * kap
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if two_lorentz_fwhm(mid) < w0 else (lo, mid)
    split = lo
    check(f"spectra, Delta = 0: the main line broadened by hybridisation, FWHM {w0:.3f} against {wu:.3f} uncoupled (> 8% wider)",
          w0 > 1.08 * wu, f"ratio {w0 / wu:.3f}")
    check(f"spectra, Delta = 0: the splitting of the hybrid modes, from that width, is of the order of the coupling: "
          f"0.6 to 1.0 times 4V = {4 * V}", 0.6 * 4 * V <= split <= 4 * V, f"splitting {split:.3f}")
    r = subprocess.run([QSYNC, "spectrum", os.path.join(out, "spectra", "model.ini"), "--set", "1.omega=0", "--lines", "--json"],
                       capture_output=True, text=True)
    try:
        import json
        lines = sorted(json.loads(r.stdout)["lines"], key=lambda l: -abs(complex(l["weights"][0]["re"], l["weights"][0]["im"])))[:2]
        d_lines = abs(lines[0]["frequency"] - lines[1]["frequency"])
        check("spectra, Delta = 0: qsync spectrum --lines finds the two strongest lines of S_1 that far apart (within 5%)",
              r.returncode == 0 and abs(d_lines - split) < 0.05 * split, f"lines {d_lines:.4f} apart, from the width {split:.4f}")
    except (ValueError, KeyError, IndexError, TypeError) as e:
        check("spectra, Delta = 0: qsync spectrum --lines finds the two strongest lines of S_1", False, f"{e}: {r.stderr[-200:]}")
    # Delta = +-2K: oscillator 2's weak line n = 1 (at 0) meets oscillator 1's main line (n = 2, at
    # Delta - 2K): S_2 at omega = 0 borrows from it, most at the crossing; oscillator 1's line n = 3
    # (at Delta - 4K) meets oscillator 2's main line (at -2K): S_1 at omega = -2K likewise
    for name, col, w_at, own in (("S_2 at omega = 0", 1, 0.0, lambda D: 0.0), ("S_1 at omega = -2K", 0, -2 * K, lambda D: D)):
        k = min(range(len(ws)), key=lambda i: abs(ws[i] - w_at))
        near = [(D, grid[(D, ws[k])][col] - uncoupled(own(D))[k]) for D in Ds if 2 * K - 6 <= D <= 2 * K + 6]
        top = max(near, key=lambda t: t[1])
        edge = max(near[0][1], near[-1][1])
        check(f"spectra: {name}, above the uncoupled spectrum there, exceeds it most at the crossing Delta = 2K (within 0.5): "
              "over 3 times its excess 6 away", abs(top[0] - 2 * K) <= 0.5 + 1e-9 and top[1] > 3 * edge,
              f"excess {top[1]:.4f} at Delta = {top[0]}, {edge:.4f} 6 away")
    # ... and the lines repel: S_2's weak line is pushed up while oscillator 1's line lies below it
    # (Delta < 2K), down once it lies above (Delta > 2K)
    shifts = []
    for D in Ds:
        if 0.5 <= abs(D - 2 * K) <= 3:
            _, s2 = at(D)
            shifts.append((D, peak(ws, s2, -1.5, 1.5)[0]))
    check("spectra: near Delta = 2K oscillator 2's line at omega = 0 is pushed away from oscillator 1's line "
          "(above 0 for Delta < 2K, below for Delta > 2K)", len(shifts) >= 8 and all((p > 0) == (D < 2 * K) for D, p in shifts),
          str([(D, round(p, 3)) for D, p in shifts]))

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
    # solved at Delta >= 0 (Delta < 0 is the ring with A and B exchanged, drawn mirrored; one
    # solve at Delta = -20 checks that)
    aa = {r[0]: r[col["S_A-A2"]] for r in rows}
    bb = {r[0]: r[col["S_B-B2"]] for r in rows}
    top_aa, top_bb = max(aa, key=aa.get), max(bb, key=bb.get)
    check("ring6: Delta >= 0 from 0 to 40 with the resonance 2K = 20 on the grid", min(aa) == 0 and max(aa) == 40 and 20 in aa,
          str(sorted(aa)))
    check("ring6: S_A-A2 and S_B-B2 both peak at Delta = +2K (S_B-B2 lower: it is S_A-A2 at -2K), each over 10x its "
          "value at Delta = 0", top_aa == 20 and top_bb == 20 and aa[20] > bb[20] and aa[20] > 10 * aa[0] and bb[20] > 10 * bb[0],
          f"S_A-A2 max {aa[top_aa]:.4f} at {top_aa} (at 0: {aa[0]:.5f}); S_B-B2 max {bb[top_bb]:.4f} at {top_bb} (at 0: {bb[0]:.5f})")
    rs = subprocess.run([QSYNC, "steady", os.path.join(out, "ring6", "model.ini"), "--json"] +
                        [a for b in ("B", "B2", "B3") for a in ("--set", f"{b}.omega=-20")], capture_output=True, text=True)
    try:
        import json
        pairs = {f"S_{p['a']}-{p['b']}": p["S"] for p in json.loads(rs.stdout)["pairs"]}
        ab = {r[0]: r[col["S_A-B"]] for r in rows}
        ab2 = {r[0]: r[head.index("S_A-B2")] for r in rows}
        d_m = max(abs(pairs["S_A-A2"] - bb[20]), abs(pairs["S_B-B2"] - aa[20]), abs(pairs["S_A-B"] - ab[20]),
                  abs(pairs["S_A-B2"] - ab2[20]))
        check("ring6: solved at Delta = -20, S_A-A2 and S_B-B2 equal the figure's S_B-B2 and S_A-A2 at +20, S_A-B and S_A-B2 "
              "their values at +20, to 1e-8: what the figure draws at -Delta", d_m <= 1e-8, f"largest difference {d_m:.1e}")
    except (ValueError, KeyError) as e:
        check("ring6: the solve at Delta = -20", False, f"{e}: {rs.stderr[-300:]}")
    ring4_aa = {r[0]: r[h4.index("S_A-A2")] for r in r4}
    ratio = aa[20] / ring4_aa[20]
    check("ring6: one mediating path instead of the ring of four's two: S_A-A2 at +2K between 0.3 and 0.8 of ring4's",
          0.3 < ratio < 0.8, f"{aa[20]:.4f} vs {ring4_aa[20]:.4f} (ratio {ratio:.2f})")

    # ring8 (3 levels, GMRES, 5.2 million unknowns a point), solved at Delta >= 0 only: Delta < 0
    # is the ring with A and B exchanged (a rotation by one site, then every frequency shifted by
    # -Delta), S_B-B2(Delta) = S_A-A2(-Delta); ring4's full grid and one solve of the ring of eight
    # at -2K check that. Mediated synchronization of identical oscillators falls with their distance.
    h4, r4 = load(out, "ring4")
    s4 = {r[0]: (r[h4.index("S_A-A2")], r[h4.index("S_B-B2")]) for r in r4}
    d_ex = max(abs(s4[d][1] - s4[-d][0]) for d in s4 if -d in s4)
    check("ring4: S_B-B2(Delta) = S_A-A2(-Delta) to 1e-8 at every Delta of its grid (A and B exchanged)",
          len(s4) > 100 and d_ex <= 1e-8, f"largest difference {d_ex:.1e}")
    head, rows = load(out, "ring8")
    c8 = lambda name: {r[0]: r[head.index(name)] for r in rows}
    aa2, aa4, bb2, bb4 = c8("S_A-A2"), c8("S_A-A3"), c8("S_B-B2"), c8("S_B-B3")
    check("ring8: Delta >= 0 from 0 to 40 with 0 and the resonance 2K = 20 on the grid", min(aa2) == 0 and max(aa2) == 40 and 20 in aa2,
          str(sorted(aa2)))
    orbits = (("S_A-A2", "S_A2-A3", "S_A3-A4", "S_A-A4"), ("S_B-B2", "S_B2-B3", "S_B3-B4", "S_B-B4"),
              ("S_A-A3", "S_A2-A4"), ("S_B-B3", "S_B2-B4"), ("S_A-B", "S_B-A2", "S_A2-B2", "S_B2-A3", "S_A3-B3", "S_B3-A4", "S_A4-B4", "S_A-B4"))
    d_sym = max(abs(r[head.index(a)] - r[head.index(b)]) for r in rows for orbit in orbits for a in orbit for b in orbit)
    check("ring8: pairs equivalent by the ring's rotations and reflections agree to 1e-8 (distance 2: S_A-A2 = S_A2-A3 = ..., "
          "distance 4: S_A-A3 = S_A2-A4, neighbours)", d_sym <= 1e-8, f"largest difference {d_sym:.1e}")
    rs = subprocess.run([QSYNC, "steady", os.path.join(out, "ring8", "model.ini"), "--json"] +
                        [a for b in ("B", "B2", "B3", "B4") for a in ("--set", f"{b}.omega=-20")], capture_output=True, text=True)
    try:
        import json
        pairs = {f"S_{p['a']}-{p['b']}": p["S"] for p in json.loads(rs.stdout)["pairs"]}
        d_m = max(abs(pairs["S_A-A2"] - bb2[20]), abs(pairs["S_A-A3"] - bb4[20]), abs(pairs["S_B-B2"] - aa2[20]))
        check("ring8: solved at Delta = -20, S_A-A2 and S_A-A3 equal the figure's S_B-B2 and S_B-B3 at +20 (and S_B-B2 its "
              "S_A-A2) to 1e-8: what the figure draws at -Delta", d_m <= 1e-8, f"largest difference {d_m:.1e}")
    except (ValueError, KeyError) as e:
        check("ring8: solved at Delta = -20", False, f"{e}: {rs.stderr[-300:]}")
    top2, top4 = max(aa2, key=aa2.get), max(aa4, key=aa4.get)
    check("ring8: S_A-A2 and S_A-A3 peak at Delta = +2K = 20, both over 10x their value at Delta = 0 (the blockade)",
          top2 == 20 and top4 == 20 and aa2[20] > 10 * aa2[0] and aa4[20] > 10 * aa4[0],
          f"S_A-A2 max {aa2[top2]:.5f} at {top2} (at 0: {aa2[0]:.2e}); S_A-A3 max {aa4[top4]:.5f} at {top4} (at 0: {aa4[0]:.2e})")
    q = (aa4[20] / aa2[20], bb4[20] / bb2[20])
    check("ring8: at Delta = +-2K synchronization 4 sites apart is 2% to 10% of that 2 sites apart (S_A-A3 / S_A-A2 at +20, "
          "S_B-B3 / S_B-B2, i.e. the A pairs at -20)", all(0.02 < x < 0.1 for x in q), f"ratios {q[0]:.3f}, {q[1]:.3f}")
    far = [d for d in aa2 if d >= 25]
    check("ring8: beyond the resonance (Delta >= 25) S falls with Delta, 4 sites apart below 2 sites apart",
          all(aa2[a] > aa2[b] and aa4[a] > aa4[b] for a, b in zip(sorted(far), sorted(far)[1:])) and all(aa4[d] < aa2[d] for d in aa2),
          str([(d, round(aa2[d], 6), round(aa4[d], 7)) for d in sorted(far)]))
    h6, r6 = load(out, "ring6")
    ring6_aa = {r[0]: r[h6.index("S_A-A2")] for r in r6}
    check("ring8: two sites apart the ring's size hardly matters: S_A-A2 at +2K within 10% of ring6's (4 levels)",
          abs(aa2[20] / ring6_aa[20] - 1) < 0.1, f"{aa2[20]:.5f} vs {ring6_aa[20]:.5f}")

finish()
