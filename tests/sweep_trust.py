"""qsync sweep: outputs that can be trusted.

Levels along an axis (equal to separate runs), journals with CRC-checked rows (a fuzz run:
every damaged journal gives the uninterrupted sweep.csv or a refusal, never a wrong file),
resume by whole blocks, the folder lock, interrupted set-up, sweep.json and phi columns,
complex coupling axes and coupling ties, honest messages, progress lines for logs, the
gnuplot script naming its columns. One PASS/FAIL line per check.

usage: sweep_trust.py QSYNC EXAMPLES
"""
import csv
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, finish  # noqa: E402

QSYNC, EX = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
TMP = tempfile.mkdtemp()
FIG2B, FIG4 = os.path.join(EX, "fig2b.ini"), os.path.join(EX, "fig4.ini")


def run(*args, cwd=None, timeout=300):
    p = subprocess.run([QSYNC, *args], capture_output=True, cwd=cwd, timeout=timeout)
    return p.returncode, p.stderr.decode(errors="replace")


def rows(folder, name="sweep.csv"):
    with open(os.path.join(folder, name), newline="") as f:
        return list(csv.reader(f))


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def steady(model, *sets):
    args = ["steady", model, "--json"]
    for s in sets:
        args += ["--set", s]
    p = subprocess.run([QSYNC, *args], capture_output=True, timeout=300)
    return json.loads(p.stdout)


def d(name):
    return os.path.join(TMP, name)


# --- levels along an axis: no overflow, identical to separate runs ---------------------
rc, err = run("sweep", FIG2B, "--vary", "levels=4,6", "--vary", "1.omega=18:22:3", "--out", d("lv"), "--no-plot")
check("--vary levels=4,6: exit 0, no crash", rc == 0, f"exit {rc}: {err[-300:]}")
ok = rc == 0
for lv in ("4", "6"):
    rc1, _ = run("sweep", FIG2B, "--vary", f"levels={lv}", "--vary", "1.omega=18:22:3", "--out", d("lv" + lv), "--no-plot")
    if ok and rc1 == 0:
        both = [r[1:] for r in rows(d("lv"))[1:] if r[0] == lv]
        alone = [r[1:] for r in rows(d("lv" + lv))[1:]]
        check(f"levels = {lv} rows of the levels sweep equal a sweep at levels {lv} byte for byte (S, phi, residual)",
              both == alone and len(alone) == 3, f"{both} vs {alone}")
    else:
        check(f"levels = {lv} rows of the levels sweep equal a sweep at levels {lv}", False, f"exit {rc1}")

# --- journals: every row checked; fuzzed journals never give a wrong sweep.csv -----------
base = ["sweep", FIG2B, "--levels", "6", "--vary", "1.omega=-20:20:48", "--threads", "1", "--no-plot"]
rc, _ = run(*base, "--out", d("ref"))
ref_csv = read(os.path.join(d("ref"), "sweep.csv"))
ref_journal = read(os.path.join(d("ref"), "sweep.partial.csv"))
check("a reference sweep of 48 points (3 blocks)", rc == 0 and len(ref_csv.splitlines()) == 49)
jl = ref_journal.splitlines(keepends=True)
check("journal rows carry the grid index first and a CRC-32 last",
      jl[1].startswith("point,") and jl[1].rstrip().endswith(",crc32") and re.fullmatch(r"0,.*,[0-9a-f]{8}\n", jl[2]) is not None,
      jl[2][:120])


def resume_with(name, journal_text):
    """A folder holding only this journal, resumed; (exit, stderr, sweep.csv or None)."""
    f = d(name)
    shutil.rmtree(f, ignore_errors=True)
    os.makedirs(f)
    with open(os.path.join(f, "sweep.partial.csv"), "w" if isinstance(journal_text, str) else "wb") as fp:
        fp.write(journal_text)
    rc, err = run(*base, "--out", f, "--resume")
    out = os.path.join(f, "sweep.csv")
    return rc, err, read(out) if os.path.exists(out) else None


def discarded(err):
    m = re.search(r"discarded (\d+) journal rows", err)
    return int(m.group(1)) if m else 0


row5 = jl[2 + 5].split(",")
bad_s = jl[:7] + [",".join(row5[:2] + ["garbage"] + row5[3:])] + jl[8:]
rc, err, out = resume_with("garbage", "".join(bad_s))
check("a journal row whose S reads 'garbage' is discarded and recomputed: sweep.csv as uninterrupted, says so",
      rc == 0 and out == ref_csv and discarded(err) == 1, f"exit {rc}: {err[-300:]}")
bad_i = jl[:7] + ["xyz" + jl[7][1:]] + jl[8:]
rc, err, out = resume_with("xyz", "".join(bad_i))
check("a journal row with index 'xyz' is discarded (point 0 is not overwritten)",
      rc == 0 and out == ref_csv and discarded(err) == 1, f"exit {rc}: {err[-300:]}")
rc, err, out = resume_with("dup", "".join(jl + [jl[10]]))
check("a duplicate row: discarded, its point recomputed, the result unchanged",
      rc == 0 and out == ref_csv and "1 duplicate" in err, f"exit {rc}: {err[-300:]}")
# a row of another grid point moved to this index (a valid-looking row, wrong axis value)
moved = jl[2 + 3].split(",", 1)
rc, err, out = resume_with("moved", "".join(jl[:6] + ["4," + moved[1]] + jl[7:]))
check("a row whose index does not match its values is discarded", rc == 0 and out == ref_csv and discarded(err) >= 1,
      f"exit {rc}: {err[-300:]}")
# a row of another sweep (same grid, other model) appended: its CRC was made for that sweep
rc, _ = run("sweep", FIG2B, "--levels", "6", "--set", "K=9", "--vary", "1.omega=-20:20:48", "--threads", "1",
            "--no-plot", "--out", d("other"))
other = read(os.path.join(d("other"), "sweep.partial.csv")).splitlines(keepends=True)
rc, err, out = resume_with("foreign", "".join(jl[:2 + 16] + other[2 + 16:2 + 32] + jl[2 + 32:]))
check("rows of another sweep spliced in: discarded (16), recomputed, result unchanged",
      rc == 0 and out == ref_csv and discarded(err) == 16, f"exit {rc}: {err[-300:]}")

rng = random.Random(20261201)
wrong, refused, n_fuzz = [], 0, 60
data = ref_journal.encode()
body = data.index(b"\n", data.index(b"\n") + 1) + 1          # after the signature and the header
for k in range(n_fuzz):
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind, pos = rng.randrange(4), rng.randrange(0 if k % 5 == 0 else body, len(b))   # 1 in 5: the first lines too
        if kind == 0:
            b[pos] = rng.randrange(256)
        elif kind == 1:
            b[pos] = rng.choice(b"0123456789.,-e\nnaix")
        elif kind == 2:
            del b[pos:pos + rng.randint(1, 40)]
        else:
            b[pos:pos] = bytes(b[rng.randrange(body, len(b)):][:rng.randint(1, 80)])
    rc, err, out = resume_with(f"fuzz{k}", bytes(b))
    if rc == 0 and out == ref_csv:
        continue
    if rc == 2 and out is None:
        refused += 1
        continue
    wrong.append(f"case {k}: exit {rc}, {'same' if out == ref_csv else 'different'} sweep.csv: {err[-200:]}")
check(f"{n_fuzz} byte-fuzzed journals: every resumed sweep.csv equals the uninterrupted one "
      f"(or exit 2, nothing written: {refused} with a damaged first line)", not wrong, "; ".join(wrong[:3]))
rc, err, out = resume_with("empty", "")
check("an empty journal is reported as empty and the sweep starts over", rc == 0 and out == ref_csv and "is empty" in err,
      f"exit {rc}: {err[-300:]}")
shutil.rmtree(d("dirj"), ignore_errors=True)
os.makedirs(os.path.join(d("dirj"), "sweep.partial.csv"))
rc, err = run(*base, "--out", d("dirj"), "--resume")
check("an unreadable journal (a directory): exit 2 saying why", rc == 2 and "cannot be read (Is a directory)" in err,
      f"exit {rc}: {err[-300:]}")

# --- resume recomputes whole blocks: byte-identical after a journal cut mid-block ---------
gm = ["sweep", FIG4, "--vary", "C.omega=0:40:40", "--solver", "iterative", "--threads", "1", "--no-plot"]
rc, _ = run(*gm, "--out", d("gm"))
full = read(os.path.join(d("gm"), "sweep.csv"))
gj = read(os.path.join(d("gm"), "sweep.partial.csv")).splitlines(keepends=True)
for cut in (2 + 16 + 7, 2 + 33):
    os.makedirs(d(f"cut{cut}"), exist_ok=True)
    with open(os.path.join(d(f"cut{cut}"), "sweep.partial.csv"), "w") as f:
        f.write("".join(gj[:cut]) + gj[cut][:25])          # the last row cut short, as a kill leaves it
    rc, err = run(*gm, "--out", d(f"cut{cut}"), "--resume")
    got = read(os.path.join(d(f"cut{cut}"), "sweep.csv")) if rc == 0 else ""
    check(f"GMRES sweep, journal cut in the middle of a block ({cut - 2} rows): resumed sweep.csv byte-identical",
          rc == 0 and got == full and "incomplete blocks" in err, f"exit {rc}: {err[-300:]}")

# --- resume: what the sweep computes, not how the model path is spelled --------------------
shutil.copy(FIG2B, os.path.join(TMP, "m.ini"))
rc, _ = run("sweep", "m.ini", "--vary", "1.omega=0:1:3", "--out", "sp", "--no-plot", cwd=TMP)
rc, err = run("sweep", "./m.ini", "--vary", "1.omega=0:1:3", "--out", "sp", "--no-plot", "--resume", cwd=TMP)
check("--resume with ./m.ini after m.ini: accepted, 3 of 3 done", rc == 0 and "3 of 3 points already done" in err,
      f"exit {rc}: {err[-300:]}")
rc, err = run("sweep", "m.ini", "--vary", "1.omega=0:1:3", "--set", "K=9", "--out", "sp", "--no-plot", "--resume", cwd=TMP)
check("--resume with another K: refused, exit 2", rc == 2 and "different sweep" in err, f"exit {rc}: {err[-300:]}")
# the preconditioner changes GMRES's numbers in their last bits: another sweep
rc, _ = run("sweep", "m.ini", "--vary", "1.omega=0:1:3", "--solver", "iterative", "--preconditioner", "uncoupled", "--out", "spp",
            "--no-plot", cwd=TMP)
rc, err = run("sweep", "m.ini", "--vary", "1.omega=0:1:3", "--solver", "iterative", "--preconditioner", "block", "--out", "spp",
              "--no-plot", "--resume", cwd=TMP)
check("--resume with another --preconditioner: refused, exit 2", rc == 2 and "different sweep" in err, f"exit {rc}: {err[-300:]}")

# --- one oscillator: no pair to plot (sweep.gp used to end in a bare `plot`, leaving an empty PNG)
with open(os.path.join(TMP, "one.ini"), "w") as f:
    f.write("[oscillator a]\ngamma = 1\nsigma = 0.2\nK = 0.1\nnbar = 1\nlevels = 3\n")
for axes in (["--vary", "a.omega=0:2:2"], ["--vary", "a.omega=0:2:2", "--vary", "a.K=0.1:0.2:2"]):
    rc, err = run("sweep", "one.ini", *axes, "--out", "one", "--no-truncation-check", cwd=TMP)
    check(f"one oscillator, {len(axes) // 2} axes: exit 0, no plot and why, no sweep.png",
          rc == 0 and "a single oscillator has no pair" in err and not os.path.exists(os.path.join(TMP, "one", "sweep.png")),
          f"exit {rc}: {err[-300:]}")
    shutil.rmtree(os.path.join(TMP, "one"))
rc, err = run("sweep", "one.ini", "--vary", "a.omega=0:2:2", "--observe", "mean_n", "--out", "one", "--no-truncation-check", cwd=TMP)
png = os.path.join(TMP, "one", "sweep.png")
check("one oscillator, --observe mean_n: its <n> drawn", rc == 0 and os.path.exists(png) and os.path.getsize(png) > 1000,
      f"exit {rc}: {err[-300:]}")

# --- the folder lock ------------------------------------------------------------------
long_args = [QSYNC, "sweep", FIG2B, "--levels", "10", "--vary", "1.omega=-30:30:4001", "--threads", "1", "--no-plot",
             "--out", d("lock")]
first = subprocess.Popen(long_args, stderr=subprocess.DEVNULL)
lockfile = os.path.join(d("lock"), "sweep.lock")
for _ in range(200):
    if os.path.exists(lockfile) and os.path.getsize(lockfile) > 0:
        break
    time.sleep(0.05)
t0 = time.time()
rc, err = run("sweep", FIG2B, "--vary", "1.omega=0:1:3", "--out", d("lock"), "--no-plot")
check("a second sweep into a folder in use: exit 2 at once, naming the holder's pid and command",
      rc == 2 and f"pid {first.pid}: qsync sweep" in err and "--out" in err and time.time() - t0 < 5, f"exit {rc}: {err[-300:]}")
first.send_signal(signal.SIGTERM)
st = first.wait()
check("SIGTERM during the run: exit 130", st == 130, f"exit {st}")
rc, err = run(*long_args[1:-2], "--out", d("lock"), "--resume")
check("after the first ends, the folder is free again (--resume: exit 0)", rc == 0, f"exit {rc}: {err[-300:]}")

# --- SIGTERM during the set-up (checking a grid of 4 million points) ------------------------
setup = subprocess.Popen([QSYNC, "sweep", FIG2B, "--vary", "1.omega=0:1:2000", "--vary", "1-2=0.01:0.1:2000",
                          "--tie", "K=1/sigma", "--out", d("setup"), "--no-plot"], stderr=subprocess.PIPE)
time.sleep(1.0)
setup.send_signal(signal.SIGTERM)
_, serr = setup.communicate(timeout=60)
check("SIGTERM during set-up: exit 130, says so, nothing half-written",
      setup.returncode == 130 and b"interrupted during set-up" in serr and not os.path.exists(d("setup")),
      f"exit {setup.returncode}: {serr.decode(errors='replace')[-200:]}")

# --- limits and messages --------------------------------------------------------------
t0 = time.time()
rc, err = run("sweep", FIG2B, "--vary", "1.omega=0:1:1000000", "--vary", "1-2=0:1:1000000", "--out", d("huge"), timeout=30)
check("a grid of 10^12 points: refused at once, exit 2 naming --vary and the limit",
      rc == 2 and "--vary" in err and "10000000" in err and time.time() - t0 < 5 and not os.path.exists(d("huge")),
      f"exit {rc}: {err[-300:]}")
rc, err = run("sweep", FIG2B, "--vary", "1.omega=-1:1:3", "--tie", "K=1/0", "--out", d("tie"))
check("--tie K=1/0: exit 2, one clear sentence", rc == 2 and "--tie K: the expression gives +infinity" in err
      and err.count("--tie K") == 1, err.strip())
rc, err = run("sweep", FIG2B, "--vary", "1.omega=-1:1:3", "--tie", "K=0/0", "--out", d("tie"))
check("--tie K=0/0: exit 2, no '-nan' in the message", rc == 2 and "nan" not in err and "NaN" in err, err.strip())
rc, err = run("sweep", FIG2B, "--vary", "1.omega=1e308:-1e308:3", "--out", d("wide"))
check("a range whose width overflows: exit 2 naming the axis, no 'nan' in the message",
      rc == 2 and "--vary 1.omega" in err and "nan" not in err.lower(), err.strip())
rc, err = run("sweep", FIG2B, "--vary", "sigma=-0.1:0.3:5", "--out", d("neg"))
check("a bad grid point is named with its axis and value", rc == 2 and "grid point 0 (sigma = -0.10000000000000001)" in err,
      err.strip())
rc, err = run("sweep", FIG2B, "--vary", "1.omega=-1:1:3", "--target-err", "0.01", "--out", d("te"))
check("--target-err without --classical: exit 2 naming the flag", rc == 2 and "--target-err" in err and "--classical" in err,
      f"exit {rc}: {err.strip()}")
rc, err = run("sweep", FIG2B, "--vary", "1.omega=-1:1:3", "--out", os.path.join(TMP, "a", "b", "c"), "--no-plot")
check("--out a/b/c creates the parent folders", rc == 0 and os.path.exists(os.path.join(TMP, "a", "b", "c", "sweep.csv")),
      f"exit {rc}: {err.strip()}")

# --- progress lines when stderr is not a terminal ------------------------------------
rc, err = run("sweep", FIG2B, "--levels", "10", "--vary", "1.omega=-30:30:1500", "--threads", "1", "--no-plot",
              "--progress-interval", "0.05", "--out", d("prog"))
lines = [ln for ln in err.splitlines() if re.fullmatch(r"qsync sweep: \d+ of 1500 points \([0-9.]+%\), .*/s, ETA \d+ s", ln)]
check("stderr not a terminal, --progress-interval 0.05: progress lines, one per line", rc == 0 and len(lines) >= 2,
      f"exit {rc}: {err[-300:]}")
# inside one block (16 points, reported together at its end; about 0.6 s at 8 levels): the
# lines count finished points
rc, err = run("sweep", FIG4, "--levels", "8", "--vary", "C.omega=0:40:16", "--threads", "1", "--no-plot",
              "--no-truncation-check", "--progress-interval", "0.05", "--out", d("prog1"))
inside = [int(m.group(1)) for m in re.finditer(r"qsync sweep: (\d+) of 16 points \(", err)]
check("progress inside a block of 16 points: lines with 1 to 15 finished", rc == 0 and any(0 < k < 16 for k in inside),
      f"exit {rc}: counts {inside}")
rc, err = run("sweep", FIG2B, "--vary", "1.omega=-30:30:50", "--no-plot", "--out", d("prog0"))
check("the default interval (30 s): no progress line in a short run", rc == 0 and "points (" not in err, err[-200:])

# --- sweep.json and phi columns ------------------------------------------------------
rc, err = run("sweep", FIG4, "--set", "A-B=0.03", "--vary", "A-C,B-C=0.05:0.15:3", "--tie", "K=10", "--out", d("js"))
ok = rc == 0
try:
    js = json.load(open(os.path.join(d("js"), "sweep.json"), encoding="utf-8"))
except Exception as e:  # noqa: BLE001
    js, ok = {}, False
    err += str(e)
check("sweep.json: program, command line, date, the resolved model (with --set), axes, ties, solver",
      ok and js.get("program", "").startswith("qsync ") and "--set" in js.get("command_line", [])
      and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", js.get("date", "")) is not None
      and any(c["a"] == "A" and c["b"] == "B" and c["value"] == 0.03 for c in js["model"]["couplings"])
      and js["axes"][0]["paths"] == ["A-C", "B-C"] and js["axes"][0]["count"] == 3
      and js["ties"] == [{"path": "K", "expression": "10"}] and "residual_tol" in js["solver"],
      f"exit {rc}: {err[-300:]}")
r = rows(d("js"))
head = r[0]
check("sweep.csv: phi_<a>-<b> columns after the existing ones, then truncation_error last",
      head == ["A-C", "S_A-B", "S_A-C", "S_B-C", "residual", "top_population", "status", "phi_A-B", "phi_A-C", "phi_B-C",
               "truncation_error"],
      ",".join(head))
st = steady(FIG4, "A-B=0.03", f"A-C={r[2][0]}", f"B-C={r[2][0]}")
phi = [p["phi_max"] for p in st["pairs"]]
check("phi_<a>-<b> equal qsync steady's phi_max at the same point",
      all(abs(float(r[2][7 + q]) - phi[q]) <= 1e-12 for q in range(3)), f"{r[2][7:]} vs {phi}")
weird = os.path.join(TMP.encode(), b"out\xff\xfe")
p = subprocess.run([QSYNC.encode(), b"sweep", FIG2B.encode(), b"--vary", b"1.omega=0:1:2", b"--no-plot", b"--out", weird],
                   capture_output=True)
try:
    json.loads(open(os.path.join(weird, b"sweep.json"), "rb").read().decode("utf-8"))
    valid = True
except Exception:  # noqa: BLE001
    valid = False
check("a non-UTF-8 --out path: sweep.json is still valid UTF-8 JSON", p.returncode == 0 and valid, f"exit {p.returncode}")

# --- complex coupling axes and coupling ties ------------------------------------------
rc, err = run("sweep", FIG4, "--vary", "B-C=0.02+0.01i:0.3+0.15i:15", "--out", d("cx"))
r = rows(d("cx")) if rc == 0 else [[]]
check("--vary B-C=0.02+0.01i:0.3+0.15i:15: exit 0, 15 rows, complex axis values",
      rc == 0 and len(r) == 16 and r[1][0] == "0.02+0.01i" and r[15][0].endswith("i"), f"exit {rc}: {err[-300:]}")
for k in (1, 8, 15):
    if rc != 0:
        break
    st = steady(FIG4, f"B-C={r[k][0]}")
    want = [p["S"] for p in st["pairs"]]
    got = [float(x) for x in r[k][1:4]]
    check(f"complex axis, row {k} ({r[k][0]}): S equals qsync steady --set B-C=... (relative 1e-12)",
          all(abs(g - w) <= 1e-12 * abs(w) for g, w in zip(got, want)), f"{got} vs {want}")
rc, err = run("sweep", FIG4, "--vary", "B-C=0.1,0.2+0.1i,-0.1i", "--tie", "A-B=0.004*K_A", "--out", d("ct"), "--no-plot")
r = rows(d("ct")) if rc == 0 else [[], [], [], []]
check("listed complex values and a tie on a coupling: exit 0", rc == 0 and len(r) == 4, f"exit {rc}: {err[-300:]}")
if rc == 0:
    st = steady(FIG4, f"B-C={r[3][0]}", "A-B=0.04")
    want = [p["S"] for p in st["pairs"]]
    got = [float(x) for x in r[3][1:4]]
    check("--tie A-B=0.004*K_A at B-C = -0.1i equals steady --set A-B=0.04 (relative 1e-12)",
          all(abs(g - w) <= 1e-12 * abs(w) for g, w in zip(got, want)), f"{got} vs {want}")
rc, err = run("sweep", FIG4, "--vary", "C.omega=0+1i:2:3", "--out", d("cxbad"))
check("complex values on an oscillator key: exit 2 naming the path", rc == 2 and "C.omega" in err and "couplings" in err,
      err.strip())


# --- the gnuplot script names every column it plots, and titles it by that name ----------
def plot_ok(folder):
    gp = read(os.path.join(folder, "sweep.gp"))
    header = rows(folder)[0]
    bad = []
    clauses = re.findall(r"using (.*?) with .*? title \"([^\"]*)\"", gp)
    if not clauses or re.search(r"using \d|\$\d|column\(\d", gp):
        bad.append("a column by number, or no plot")
    for using, title in clauses:
        cols = re.findall(r'column\("([^"]+)"\)', using)
        if any(c not in header for c in cols):
            bad.append(f"{cols} not all in the header")
        if title not in cols[1:] or not title.startswith("S_"):
            bad.append(f"title {title} is not the column it plots ({cols})")
    return not bad and os.path.getsize(os.path.join(folder, "sweep.png")) > 0, "; ".join(bad)


rc, _ = run("sweep", FIG4, "--vary", "C.omega=0:40:9", "--out", d("gp1"))
ok, why = plot_ok(d("gp1")) if rc == 0 else (False, f"exit {rc}")
check("sweep.gp (curves): columns named by header, each title the column it plots, png drawn", ok, why)
rc, _ = run("sweep", FIG4, "--vary", "A-C=0.05:0.15:3", "--vary", "C.omega=0:40:4", "--out", d("gp2"))
ok, why = plot_ok(d("gp2")) if rc == 0 else (False, f"exit {rc}")
check("sweep.gp (maps): columns named by header, each title the column it plots, png drawn", ok, why)
rc, _ = run("sweep", os.path.join(EX, "fig2a.ini"), "--classical", "--vary", "1.omega=-1:1:3", "--trajectories", "96",
            "--time", "10", "--burn-in", "5", "--out", d("gp3"))
ok, why = plot_ok(d("gp3")) if rc == 0 else (False, f"exit {rc}")
check("sweep.gp (classical, error bars): columns named by header, titles, png drawn", ok, why)

shutil.rmtree(TMP, ignore_errors=True)
finish()
