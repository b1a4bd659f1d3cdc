"""qsync sweep --observe: the observables of every point as columns.

Without --observe the columns are exactly those of before (S_, residual, top_population,
status, phi_, truncation_error). With --observe every observable of the table (the list the
error message for an unknown name gives) has its columns, named NAME_<a>-<b>, NAME_<j> and
populations_<j>_<n>, in the order asked, and each value equals qsync steady --json at the same
point bit for bit (both print 17 digits; parsed with float). Populations sum to 1 and give
mean_n; above a point's own levels (levels on an axis) they are 0. --observe S,phi_max equals
the default S_ and phi_ columns bit for bit. Unknown or repeated names and classical sweeps
are refused (exit 2, naming --observe); the journal's signature holds the observables (a
resume with others is refused, with the same ones it reads every column back, byte for
byte). The dynamical observables (peak_frequency, fwhm per oscillator; relaxation_rate,
coherence_rate for the network, columns named by the observable alone) equal `qsync spectrum
--json`'s peak_frequency and fwhm and steady's rates bit for bit (steady with OpenBLAS on one
thread, as a sweep runs it: the rates are dense eigenvalues, whose last bits follow OpenBLAS's
thread count) at every point of a sweep along a frequency, a coupling and the levels, and a resume reads them back. --spectrum A:B:N
writes spectra.csv (the axis columns as sweep.csv names them, omega, spectrum_<name>; one row
per point and frequency) equal to `qsync spectrum --json --omega A:B:N` at each point bit for
bit, the maps spectra_<name>.png for one axis, and a resumed sweep whose spectra journal lost
rows writes the same spectra.csv byte for byte. One PASS/FAIL line per check.

usage: sweep_observe.py QSYNC EXAMPLES
"""
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, finish  # noqa: E402

QSYNC, EX = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
TMP = tempfile.mkdtemp()
FIG2B, FIG4 = os.path.join(EX, "fig2b.ini"), os.path.join(EX, "fig4.ini")
NAMES4 = ["A", "B", "C"]
PAIRS4 = [("A", "B"), ("A", "C"), ("B", "C")]


def run(*args, env=None):
    p = subprocess.run([QSYNC, *args], capture_output=True, text=True, timeout=600,
                       env=None if env is None else {**os.environ, **env})
    return p.returncode, p.stdout, p.stderr


def sweep(out, *args, plot=False):
    return run("sweep", *args, "--out", os.path.join(TMP, out), *([] if plot else ["--no-plot"]))


def table(out, name="sweep.csv"):
    with open(os.path.join(TMP, out, name), newline="") as f:
        r = list(csv.reader(f))
    return r[0], [dict(zip(r[0], row)) for row in r[1:]]


def read(out, name):
    with open(os.path.join(TMP, out, name), "rb") as f:
        return f.read()


def steady(model, *args, env=None):
    rc, out, err = run("steady", model, "--json", *args, env=env)
    return json.loads(out) if rc == 0 else None


def same(text, value):
    """A CSV field equals a JSON number bit for bit (NaN: JSON null)."""
    x = float(text)
    if value is None:
        return math.isnan(x)
    return x == value and math.copysign(1, x) == math.copysign(1, value)


# --- the table's names, from the refusal of an unknown one --------------------------------
rc, _, err = sweep("bad", FIG4, "--vary", "C.omega=-1:1:2", "--observe", "S,no_such")
listed = err.split("the observables are:")[-1].split() if "the observables are:" in err else []
check("--observe S,no_such: exit 2 naming --observe and the unknown name, listing the observables",
      rc == 2 and "--observe" in err and "no_such" in err and {"S", "phi_max", "mean_n", "populations"} <= set(listed),
      f"exit {rc}: {err.strip()[:300]}")
check("... nothing written", not os.path.exists(os.path.join(TMP, "bad")))
rc, _, err = sweep("bad", FIG4, "--vary", "C.omega=-1:1:2", "--observe", "S,negativity,S")
check("--observe S,negativity,S (a name twice): exit 2 naming --observe", rc == 2 and "--observe" in err and "twice" in err,
      f"exit {rc}: {err.strip()[:200]}")
rc, _, err = sweep("bad", FIG4, "--vary", "C.omega=-1:1:2", "--observe", "S", "--classical", "--trajectories", "128")
check("--observe with --classical: exit 2 naming --observe", rc == 2 and "--observe" in err, f"exit {rc}: {err.strip()[:200]}")
# observables of one value per oscillator or per pair, and per level
OSC, NETWORK = ("mean_n", "var_n", "peak_frequency", "fwhm"), ("relaxation_rate", "coherence_rate")
DYNAMICAL = ["peak_frequency", "fwhm", "relaxation_rate", "coherence_rate"]
meta = {}
for name in listed:
    meta[name] = "level" if name == "populations" else "osc" if name in OSC else "network" if name in NETWORK else "pair"
check("the table lists the observables of MODEL.md sections 7 and 8",
      set(listed) == {"mean_n", "var_n", "populations", "S", "phi_max", "S_Q", "phi_max_Q", "correlation",
                      "correlation_phase", "negativity", "log_negativity", "mutual_information"} | set(DYNAMICAL),
      " ".join(listed))

# --- default columns unchanged ------------------------------------------------------------
rc, _, err = sweep("default", FIG4, "--vary", "C.omega=-10:10:5")
head, dflt = table("default")
want = (["C.omega"] + [f"S_{a}-{b}" for a, b in PAIRS4] + ["residual", "top_population", "status"]
        + [f"phi_{a}-{b}" for a, b in PAIRS4] + ["truncation_error"])
check("without --observe: the columns of before, in their order", rc == 0 and head == want, f"exit {rc}: {head}")
js = json.loads(read("default", "sweep.json"))
check("... and sweep.json has no observables entry", "observe" not in js, str(list(js)))

# --- every observable of the state, equal to steady --json bit for bit --------------------
# (the dynamical ones below, on networks small enough for them)
STATIC = [x for x in listed if x not in DYNAMICAL]
rc, _, err = sweep("all", FIG4, "--vary", "C.omega=-10:10:5", "--observe", ",".join(STATIC))
head, rows = table("all")
levels = {o["name"]: o["levels"] for o in steady(FIG4)["oscillators"]}
want = ["C.omega"]
for name in STATIC:
    if meta[name] == "pair":
        want += [f"{name}_{a}-{b}" for a, b in PAIRS4]
    elif meta[name] == "osc":
        want += [f"{name}_{j}" for j in NAMES4]
    elif meta[name] == "network":
        want += [name]
    else:
        want += [f"{name}_{j}_{n}" for j in NAMES4 for n in range(levels[j])]
want += ["residual", "top_population", "status", "truncation_error"]
check("--observe every observable: columns NAME_<a>-<b>, NAME_<j>, populations_<j>_<n>, NAME (network) in the "
      "order asked, in place of S_ and phi_", rc == 0 and head == want, f"exit {rc}: {err.strip()[:200]} {head}")
js = json.loads(read("all", "sweep.json"))
check("... sweep.json lists the observables", js.get("observe") == STATIC, str(js.get("observe")))
bad, compared = [], 0
for r in rows:
    d = steady(FIG4, "--set", f"C.omega={r['C.omega']}")
    if d is None:
        bad.append(f"steady failed at {r['C.omega']}")
        continue
    for p in d["pairs"]:
        for name in STATIC:
            if meta[name] != "pair":
                continue
            compared += 1
            col = f"{name}_{p['a']}-{p['b']}"
            if name not in p or not same(r[col], p[name]):
                bad.append(f"{col} at C.omega={r['C.omega']}: {r[col]} vs {p.get(name, 'absent')}")
    for name in STATIC:
        if meta[name] == "network":
            compared += 1
            if name not in d or not same(r[name], d[name]):
                bad.append(f"{name} at C.omega={r['C.omega']}: {r[name]} vs {d.get(name, 'absent')}")
    for o in d["oscillators"]:
        for name in STATIC:
            if meta[name] in ("pair", "network"):
                continue
            if meta[name] == "osc":
                compared += 1
                col = f"{name}_{o['name']}"
                if name not in o or not same(r[col], o[name]):
                    bad.append(f"{col} at C.omega={r['C.omega']}: {r[col]} vs {o.get(name, 'absent')}")
            else:
                compared += 1
                cols = [f"populations_{o['name']}_{n}" for n in range(levels[o["name"]])]
                if "populations" not in o or len(o["populations"]) != len(cols) or \
                        not all(same(r[c], v) for c, v in zip(cols, o["populations"])):
                    bad.append(f"populations_{o['name']} at C.omega={r['C.omega']}: {o.get('populations', 'absent')}")
check(f"every observable column equals qsync steady --json at the same point, bit for bit ({compared} compared)",
      not bad and compared == 5 * (len(PAIRS4) * 9 + len(NAMES4) * 3), "; ".join(bad[:4]))
worst = 0.0
for r in rows:
    for j in NAMES4:
        p = [float(r[f"populations_{j}_{n}"]) for n in range(levels[j])]
        worst = max(worst, abs(sum(p) - 1), abs(sum(n * x for n, x in enumerate(p)) - float(r[f"mean_n_{j}"])))
check("populations of every oscillator sum to 1 and give mean_n (1e-12)", worst <= 1e-12, f"{worst:.2e}")
check("status and diagnostics as without --observe (same points, same solve)",
      all(r[k] == s[k] for r, s in zip(rows, dflt) for k in ("residual", "top_population", "status", "truncation_error")))

# --- S and phi_max asked: the default's numbers -------------------------------------------
rc, _, err = sweep("sphi", FIG4, "--vary", "C.omega=-10:10:5", "--observe", "S,phi_max")
head, sphi = table("sphi")
check("--observe S,phi_max: S_<a>-<b> and phi_max_<a>-<b> equal the default S_ and phi_ columns bit for bit",
      rc == 0 and all(r[f"S_{a}-{b}"] == s[f"S_{a}-{b}"] and r[f"phi_max_{a}-{b}"] == s[f"phi_{a}-{b}"]
                      for r, s in zip(sphi, dflt) for a, b in PAIRS4), f"exit {rc}: {head}")

# --- levels on an axis: populations above a point's levels are 0 --------------------------
rc, _, err = sweep("lv", FIG2B, "--vary", "1.levels=4,7", "--vary", "1.omega=-5:5:3", "--observe", "populations,mean_n")
head, lv = table("lv")
cols1 = [f"populations_1_{n}" for n in range(7)]
ok = rc == 0 and all(c in head for c in cols1) and "populations_1_7" not in head
small = [r for r in lv if r["1.levels"] == "4"]
ok = ok and len(small) == 3 and all(float(r[c]) == 0.0 for r in small for c in cols1[4:])
worst = 0.0
for r in lv:
    L = int(r["1.levels"])
    d = steady(FIG2B, "--set", f"1.levels={L}", "--set", f"1.omega={r['1.omega']}")
    pops = [o for o in d["oscillators"] if o["name"] == "1"][0].get("populations", [])
    ok = ok and len(pops) == L and all(same(r[c], v) for c, v in zip(cols1, pops))
    worst = max(worst, abs(sum(float(r[c]) for c in cols1) - 1))
check("--vary 1.levels=4,7: populations_1_0..6, those above a point's 4 levels 0, the rest equal steady's, "
      "sums 1 (1e-12)", ok and worst <= 1e-12, f"exit {rc}: {err.strip()[:200]} sum error {worst:.1e}")

# --- the journal: resume with the same observables reads every column back ----------------
csv_all, journal = read("all", "sweep.csv"), read("all", "sweep.partial.csv")
rc, _, err = sweep("all", FIG4, "--vary", "C.omega=-10:10:5", "--observe", ",".join(STATIC), "--resume")
check("--resume with the same --observe: every point read back from the journal, sweep.csv byte-identical",
      rc == 0 and "5 of 5 points already done" in err and read("all", "sweep.csv") == csv_all,
      f"exit {rc}: {err.strip()[:200]}")
rc, _, err = sweep("all", FIG4, "--vary", "C.omega=-10:10:5", "--observe", "S,negativity", "--resume")
check("--resume with another --observe: refused (exit 2, another sweep), sweep.csv untouched",
      rc == 2 and "belongs to a different sweep" in err and read("all", "sweep.csv") == csv_all, f"exit {rc}: {err.strip()[:200]}")
rc, _, err = sweep("default", FIG4, "--vary", "C.omega=-10:10:5", "--observe", "S,phi_max", "--resume")
check("--resume of a default sweep with --observe S,phi_max: refused (other columns)",
      rc == 2 and "belongs to a different sweep" in err, f"exit {rc}: {err.strip()[:200]}")

# --- the plot of a sweep without S draws the first observable asked ------------------------
rc, _, err = sweep("plot", FIG4, "--vary", "C.omega=-10:10:3", "--observe", "populations,negativity", plot=True)
gp = read("plot", "sweep.gp").decode() if rc == 0 else ""
check("--observe populations,negativity: sweep.gp draws the negativity_<a>-<b> columns by name",
      rc == 0 and all(f'column("negativity_{a}-{b}")' in gp for a, b in PAIRS4) and "S_A-B" not in gp,
      f"exit {rc}: {err.strip()[:200]}")

# --- --observe repeated: the lists in order, as one flag; a name in two flags refused --------
rc1, _, err1 = sweep("rep1", FIG4, "--vary", "C.omega=-10:10:3", "--observe", "negativity,S")
rc2, _, err2 = sweep("rep2", FIG4, "--vary", "C.omega=-10:10:3", "--observe", "negativity", "--observe", "S")
check("--observe negativity --observe S: sweep.csv byte-identical to --observe negativity,S (both names kept, in order)",
      rc1 == 0 and rc2 == 0 and read("rep2", "sweep.csv") == read("rep1", "sweep.csv")
      and [h for h in table("rep2")[0] if h.startswith(("negativity_", "S_"))][:1] == ["negativity_A-B"]
      and "S_A-B" in table("rep2")[0], f"exit {rc1}, {rc2}: {err2.strip()[:200]}")
rc, _, err = sweep("rep3", FIG4, "--vary", "C.omega=-10:10:3", "--observe", "S,negativity", "--observe", "S")
check("--observe S,negativity --observe S: refused (exit 2, 'S' named twice)",
      rc == 2 and "--observe" in err and "'S' named twice" in err and not os.path.exists(os.path.join(TMP, "rep3", "sweep.csv")),
      f"exit {rc}: {err.strip()[:200]}")

# --- the dynamical observables along a frequency, a coupling and the levels ----------------
def spectrum_json(model, *args):
    """`qsync spectrum MODEL --json ARGS`; without that command, the same numbers through the
    Python package (qs_spectrum_run on the library's steady state)."""
    rc, out, err = run("spectrum", model, "--json", *args)
    if rc == 0:
        return json.loads(out)
    if "unknown command" not in err and "usage: qsync COMMAND" not in err:
        return None
    sys.path.insert(0, os.path.join(os.path.dirname(QSYNC), "python"))
    import qsync
    m = qsync.Model.load(model)
    omega = None
    for i, a in enumerate(args):
        if a == "--set":
            m.set(*args[i + 1].split("=", 1))
        if a == "--omega":
            A, B, N = args[i + 1].split(":")
            omega = (float(A), float(B), int(N))
    sp = m.spectrum(omega=omega)
    return {"omega": list(sp.omega), "oscillators": [
        {"name": j, "spectrum": list(sp.spectrum[j]), "peak_frequency": sp.peak_frequency[j], "fwhm": sp.fwhm[j]}
        for j in m.names]}


def none_if_nan(x):
    return None if isinstance(x, float) and math.isnan(x) else x


for label, model, axis, path, setting in (
        ("a frequency", FIG2B, "1.omega=-20:20:3", "1.omega", "1.omega"),
        ("a coupling", FIG2B, "1-2=0:0.2:3", "1-2", "1-2"),
        ("the levels", FIG2B, "levels=6,8", "levels", "levels")):
    out = "dyn_" + path.replace(".", "_")
    rc, _, err = sweep(out, model, "--vary", axis, "--observe", ",".join(DYNAMICAL))
    head, rows = table(out) if rc == 0 else ([], [])
    names = [o["name"] for o in steady(model, "--no-dynamics")["oscillators"]]
    want = ([path] + [f"{x}_{j}" for x in ("peak_frequency", "fwhm") for j in names] + list(NETWORK)
            + ["residual", "top_population", "status", "truncation_error"])
    check(f"--observe {','.join(DYNAMICAL)} along {label}: columns peak_frequency_<j>, fwhm_<j>, relaxation_rate, "
          "coherence_rate", rc == 0 and head == want, f"exit {rc}: {err.strip()[:200]} {head}")
    bad, compared = [], 0
    for r in rows:
        at = ["--set", f"{setting}={r[path]}"]
        # the rates are LAPACK's dense eigenvalues, whose last bits depend on OpenBLAS's thread
        # count: a sweep runs it on one thread, so steady does here
        d, sp = steady(model, *at, env={"OPENBLAS_NUM_THREADS": "1"}), spectrum_json(model, *at)
        if d is None or sp is None:
            bad.append(f"steady or spectrum failed at {r[path]}")
            continue
        for name in NETWORK:
            compared += 1
            if not same(r[name], d.get(name)):
                bad.append(f"{name} at {r[path]}: {r[name]} vs steady {d.get(name)}")
        for o, so in zip(d["oscillators"], sp["oscillators"]):
            for name in ("peak_frequency", "fwhm"):
                compared += 2
                if not same(r[f"{name}_{o['name']}"], none_if_nan(so[name])):
                    bad.append(f"{name}_{o['name']} at {r[path]}: {r[name + '_' + o['name']]} vs spectrum {so[name]}")
                if not same(r[f"{name}_{o['name']}"], o.get(name)):
                    bad.append(f"{name}_{o['name']} at {r[path]}: {r[name + '_' + o['name']]} vs steady {o.get(name)}")
    check(f"... along {label}: every value equals qsync spectrum --json (peak_frequency, fwhm) and qsync steady "
          f"--json bit for bit ({compared} compared)", not bad and compared == len(rows) * (2 + 4 * len(names))
          and len(rows) > 1, "; ".join(bad[:3]))
    csv_before = read(out, "sweep.csv") if rc == 0 else b""
    rc, _, err = sweep(out, model, "--vary", axis, "--observe", ",".join(DYNAMICAL), "--resume")
    check(f"... along {label}: --resume reads every point back from the journal, sweep.csv byte-identical",
          rc == 0 and f"{len(rows)} of {len(rows)} points already done" in err and read(out, "sweep.csv") == csv_before,
          f"exit {rc}: {err.strip()[:200]}")
js = json.loads(read("dyn_levels", "sweep.json"))
check("sweep.json lists the dynamical observables asked", js.get("observe") == DYNAMICAL, str(js.get("observe")))

# --- --spectrum: spectra.csv, equal to qsync spectrum --json at each point ------------------
SPEC = "-40:30:141"
A_, B_, N_ = -40.0, 30.0, 141
rc, _, err = sweep("spec", FIG2B, "--vary", "1.omega=-10:10:4", "--spectrum", SPEC, plot=True)
head, rows = table("spec", "spectra.csv") if rc == 0 else ([], [])
check("--spectrum A:B:N: spectra.csv with the columns 1.omega, omega, spectrum_1, spectrum_2",
      rc == 0 and head == ["1.omega", "omega", "spectrum_1", "spectrum_2"], f"exit {rc}: {err.strip()[:300]} {head}")
_, srows = table("spec") if rc == 0 else ([], [])
check("... one row per point and frequency, points in sweep.csv's order with its axis values",
      len(rows) == 4 * N_ and [r["1.omega"] for r in rows[::N_]] == [r["1.omega"] for r in srows], f"{len(rows)} rows")
bad, compared = [], 0
for k, r0 in enumerate(srows):
    sp = spectrum_json(FIG2B, "--omega", SPEC, "--set", f"1.omega={r0['1.omega']}")
    block = rows[k * N_:(k + 1) * N_]
    if sp is None or len(sp["omega"]) != N_ or len(block) != N_:
        bad.append(f"qsync spectrum failed at 1.omega={r0['1.omega']}")
        continue
    for i, r in enumerate(block):
        compared += 1
        if not same(r["omega"], sp["omega"][i]):
            bad.append(f"omega {r['omega']} vs {sp['omega'][i]}")
        for o in sp["oscillators"]:
            compared += 1
            if not same(r[f"spectrum_{o['name']}"], o["spectrum"][i]):
                bad.append(f"spectrum_{o['name']} at 1.omega={r0['1.omega']}, omega={r['omega']}: "
                           f"{r['spectrum_' + o['name']]} vs {o['spectrum'][i]}")
check(f"spectra.csv equals qsync spectrum --json --omega {SPEC} at every point bit for bit ({compared} compared)",
      not bad and compared == 4 * N_ * 3, "; ".join(bad[:3]))
gp = read("spec", "spectra_1.gp").decode() if os.path.exists(os.path.join(TMP, "spec", "spectra_1.gp")) else ""
check("one axis: spectra_1.png and spectra_2.png drawn; the script names the columns it draws and the colour bar after "
      "the column", all(os.path.getsize(os.path.join(TMP, "spec", f"spectra_{j}.png")) > 1000 for j in ("1", "2")
                        if os.path.exists(os.path.join(TMP, "spec", f"spectra_{j}.png")))
      and all(os.path.exists(os.path.join(TMP, "spec", f"spectra_{j}.png")) for j in ("1", "2"))
      and 'column("1.omega")' in gp and 'column("omega")' in gp and 'column("spectrum_1")' in gp
      and 'set cblabel "spectrum_1"' in gp, gp[-300:])
spectra_csv = read("spec", "spectra.csv")
journal = os.path.join(TMP, "spec", "spectra.partial.csv")
with open(journal, "rb") as f:
    lines = f.read().split(b"\n")
with open(journal, "wb") as f:                      # the signature and one row: three points lost their spectra
    f.write(b"\n".join(lines[:2]) + b"\n")
rc, _, err = sweep("spec", FIG2B, "--vary", "1.omega=-10:10:4", "--spectrum", SPEC, "--resume")
check("--resume after the spectra journal lost rows: the block is solved again, spectra.csv byte-identical",
      rc == 0 and "lacks spectra" in err and read("spec", "spectra.csv") == spectra_csv, f"exit {rc}: {err.strip()[:300]}")
rc, _, err = sweep("spec", FIG2B, "--vary", "1.omega=-10:10:4", "--spectrum", "-40:30:71", "--resume")
check("--resume with another --spectrum grid: refused (exit 2, a different sweep)",
      rc == 2 and "belongs to a different sweep" in err, f"exit {rc}: {err.strip()[:200]}")
rc, _, err = sweep("spec2", FIG4, "--levels", "3", "--vary", "C.omega=-1:1:2", "--vary", "A-B=0.01+0.01i,0.02",
                  "--spectrum", "-30:30:11")
head, rows = table("spec2", "spectra.csv") if rc == 0 else ([], [])
check("two axes, one complex: spectra.csv has both axis columns as sweep.csv writes them (a+bi), 4 x 11 rows",
      rc == 0 and head == ["C.omega", "A-B", "omega", "spectrum_A", "spectrum_B", "spectrum_C"] and len(rows) == 44
      and rows[0]["A-B"] == table("spec2")[1][0]["A-B"], f"exit {rc}: {err.strip()[:200]} {head}")
for bad_spec in ("30:-40:10", "-1:1:1", "a:1:5", "-1:1"):
    rc, _, err = sweep("specbad", FIG2B, "--vary", "1.omega=-1:1:2", "--spectrum", bad_spec)
    check(f"--spectrum {bad_spec}: exit 2 naming --spectrum, nothing written",
          rc == 2 and "--spectrum" in err and not os.path.exists(os.path.join(TMP, "specbad")), f"exit {rc}: {err.strip()[:200]}")
rc, _, err = sweep("specbad", FIG2B, "--vary", "1.omega=-1:1:2", "--spectrum", "-1:1:5", "--classical")
check("--spectrum with --classical: exit 2 naming --spectrum", rc == 2 and "--spectrum" in err, f"exit {rc}: {err.strip()[:200]}")

shutil.rmtree(TMP, ignore_errors=True)
finish()
