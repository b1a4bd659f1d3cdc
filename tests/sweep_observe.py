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
byte). One PASS/FAIL line per check.

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


def run(*args):
    p = subprocess.run([QSYNC, *args], capture_output=True, text=True, timeout=600)
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


def steady(model, *args):
    rc, out, err = run("steady", model, "--json", *args)
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
meta = {}
for name in listed:
    meta[name] = "level" if name == "populations" else "osc" if name in ("mean_n", "var_n") else "pair"
check("the table lists the observables of MODEL.md section 7",
      set(listed) == {"mean_n", "var_n", "populations", "S", "phi_max", "S_Q", "phi_max_Q", "correlation",
                      "correlation_phase", "negativity", "log_negativity", "mutual_information"}, " ".join(listed))

# --- default columns unchanged ------------------------------------------------------------
rc, _, err = sweep("default", FIG4, "--vary", "C.omega=-10:10:5")
head, dflt = table("default")
want = (["C.omega"] + [f"S_{a}-{b}" for a, b in PAIRS4] + ["residual", "top_population", "status"]
        + [f"phi_{a}-{b}" for a, b in PAIRS4] + ["truncation_error"])
check("without --observe: the columns of before, in their order", rc == 0 and head == want, f"exit {rc}: {head}")
js = json.loads(read("default", "sweep.json"))
check("... and sweep.json has no observables entry", "observe" not in js, str(list(js)))

# --- every observable, equal to steady --json bit for bit ---------------------------------
rc, _, err = sweep("all", FIG4, "--vary", "C.omega=-10:10:5", "--observe", ",".join(listed))
head, rows = table("all")
levels = {o["name"]: o["levels"] for o in steady(FIG4)["oscillators"]}
want = ["C.omega"]
for name in listed:
    if meta[name] == "pair":
        want += [f"{name}_{a}-{b}" for a, b in PAIRS4]
    elif meta[name] == "osc":
        want += [f"{name}_{j}" for j in NAMES4]
    else:
        want += [f"{name}_{j}_{n}" for j in NAMES4 for n in range(levels[j])]
want += ["residual", "top_population", "status", "truncation_error"]
check("--observe every observable: columns NAME_<a>-<b>, NAME_<j>, populations_<j>_<n> in the order asked, "
      "in place of S_ and phi_", rc == 0 and head == want, f"exit {rc}: {err.strip()[:200]} {head}")
js = json.loads(read("all", "sweep.json"))
check("... sweep.json lists the observables", js.get("observe") == listed, str(js.get("observe")))
bad, compared = [], 0
for r in rows:
    d = steady(FIG4, "--set", f"C.omega={r['C.omega']}")
    if d is None:
        bad.append(f"steady failed at {r['C.omega']}")
        continue
    for p in d["pairs"]:
        for name in listed:
            if meta[name] != "pair":
                continue
            compared += 1
            col = f"{name}_{p['a']}-{p['b']}"
            if name not in p or not same(r[col], p[name]):
                bad.append(f"{col} at C.omega={r['C.omega']}: {r[col]} vs {p.get(name, 'absent')}")
    for o in d["oscillators"]:
        for name in listed:
            if meta[name] == "pair":
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
rc, _, err = sweep("all", FIG4, "--vary", "C.omega=-10:10:5", "--observe", ",".join(listed), "--resume")
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

shutil.rmtree(TMP, ignore_errors=True)
finish()
