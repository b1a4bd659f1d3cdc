"""qsync sweep: the truncation error of S at every point.

The column truncation_error equals qsync steady's truncation_error_max at the same point;
the status words (ok, truncation, top-level only without an estimate); the journal round
trip with the new column (its CRC covers it); --no-truncation-check gives the old status;
--truncation-check and the cost rule; levels = auto chosen by the tolerance on S as steady
chooses it; sweep.json records the setting. One PASS/FAIL line per check.

usage: sweep_truncation.py QSYNC EXAMPLES
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


def sweep(out, *args):
    p = subprocess.run([QSYNC, "sweep", *args, "--out", os.path.join(TMP, out), "--no-plot"],
                       capture_output=True, text=True, timeout=600)
    return p.returncode, p.stderr


def rows(out, name="sweep.csv"):
    with open(os.path.join(TMP, out, name), newline="") as f:
        return list(csv.DictReader(f))


def steady(model, *args):
    p = subprocess.run([QSYNC, "steady", model, "--json", *args], capture_output=True, text=True, timeout=600)
    return json.loads(p.stdout)


# --- the column equals steady's estimate, two and three oscillators ------------------------
rc, err = sweep("a", FIG2B, "--vary", "1.omega=-20:20:5", "--truncation-every-point")
r = rows("a")
check("sweep exits 0 with a truncation_error column last", rc == 0 and list(r[0].keys())[-1] == "truncation_error",
      f"exit {rc}: {list(r[0].keys()) if r else err}")
worst = 0.0
for row in r:
    d = steady(FIG2B, "--set", f"1.omega={row['1.omega']}")
    worst = max(worst, abs(float(row["truncation_error"]) - d["truncation_error_max"]))
check("Fig. 2b: truncation_error equals steady's truncation_error_max at every point (1e-12)", worst <= 1e-12, f"{worst:.2e}")
check("Fig. 2b at 8 levels: every point ok (estimated error below 5e-3 although the top level holds > 1e-3)",
      all(x["status"] == "ok" and float(x["truncation_error"]) <= 5e-3 and float(x["top_population"]) > 1e-3 for x in r),
      str([(x["status"], x["truncation_error"], x["top_population"]) for x in r]))

rc, err = sweep("b", FIG4, "--vary", "C.omega=10,20", "--truncation-every-point")
r = rows("b")
worst = 0.0
for row in r:
    d = steady(FIG4, "--set", f"C.omega={row['C.omega']}")
    worst = max(worst, abs(float(row["truncation_error"]) - d["truncation_error_max"]))
check("Fig. 4 (three oscillators, A <-> B symmetry): truncation_error equals steady's (1e-12)",
      rc == 0 and len(r) == 2 and worst <= 1e-12, f"exit {rc}, {worst:.2e}")

# --- the default samples every 4th point along the last axis --------------------------------
rc, err = sweep("s", FIG2B, "--vary", "1.omega=-20:20:21", "--s-tol", "3e-4")
rs = rows("s")
sampled = [i for i, x in enumerate(rs) if not math.isnan(float(x["truncation_error"]))]
check("default: estimated at every 4th point along the last axis and its last, nan between",
      rc == 0 and sampled == [0, 4, 8, 12, 16, 20], str(sampled))
n_tr = sum(x["status"] == "truncation" for x in rs)
n_over = sum(x["status"] == "truncation" and not math.isnan(float(x["truncation_error"])) for x in rs)
check("default: the warning counts the points estimated above --s-tol apart from those judged by their neighbours, "
      "and names the largest estimate (not a point between estimates)",
      f"{n_tr} of 21 points read truncation: {n_over} have an estimated truncation error of S above --s-tol 0.0003 (the "
      f"largest, 0.00093, at point " in err and f"; {n_tr - n_over} more are not estimated themselves and read truncation by "
      f"their estimated neighbours" in err and 0 < n_over < n_tr, err)
rc, err = sweep("lv", FIG2B, "--vary", "levels=4,6", "--vary", "1.omega=14:22:5")
rc2, err2 = sweep("l6", FIG2B, "--levels", "6", "--vary", "1.omega=14:22:5", "--truncation-every-point")
check("default with a levels axis: every point estimated; the levels = 6 rows equal a separate sweep at 6 levels "
      "with --truncation-every-point (status and estimate too)",
      rc == 0 and [list(x.values())[1:] for x in rows("lv")[5:]] == [list(x.values()) for x in rows("l6")],
      f"{[(x['status'], x['truncation_error']) for x in rows('lv')]}")
rc, err = sweep("lfast", FIG2B, "--vary", "levels=6,8,10")
ok = rc == 0
for x in (rows("lfast") if ok else []):
    st = steady(FIG2B, "--levels", x["levels"])
    ok = ok and x["status"] == "ok" and abs(float(x["truncation_error"]) - st["truncation_error_max"]) <= 1e-12
check("--vary levels=6,8,10 (levels on the fast axis): each row estimated, equal to steady --levels L, status ok",
      ok, f"rc {rc} {[(x['status'], x['truncation_error']) for x in rows('lfast')] if rc == 0 else err}")
j = json.load(open(os.path.join(TMP, "s", "sweep.json")))
check("default: sweep.json says sampled", j["truncation_check"]["mode"] == "sampled", str(j["truncation_check"]))


def judged(i):
    """the status a point between estimates gets: the larger of its nearest estimated neighbours in its block"""
    b0, b1 = i // 16 * 16, min(i // 16 * 16 + 15, len(rs) - 1)
    before = [k for k in sampled if b0 <= k < i]
    after = [k for k in sampled if i < k <= b1]
    worst = max(float(rs[k]["truncation_error"]) for k in before[-1:] + after[:1])
    return "ok" if worst <= 3e-4 else "truncation"


want = [("ok" if float(x["truncation_error"]) <= 3e-4 else "truncation") if i in sampled else judged(i)
        for i, x in enumerate(rs)]
check("default: a point between estimates reads by the larger estimate of its neighbours (both words occur)",
      [x["status"] for x in rs] == want and "ok" in want and "truncation" in want, f"{[x['status'] for x in rs]} vs {want}")
rc2, err2 = sweep("s1", FIG2B, "--vary", "1.omega=-20:20:21", "--s-tol", "3e-4", "--truncation-every-point")
r1 = rows("s1")
check("default: the sampled estimates equal those at every point (same S, same numbers)",
      all(rs[i]["truncation_error"] == r1[i]["truncation_error"] for i in sampled)
      and [x["S_1-2"] for x in rs] == [x["S_1-2"] for x in r1], "")

# --- status words -------------------------------------------------------------------------
rc, err = sweep("c", FIG2B, "--vary", "1.omega=-20:20:9", "--s-tol", "2.7e-4", "--truncation-every-point")
r = rows("c")
want = ["truncation" if float(x["truncation_error"]) > 2.7e-4 else "ok" for x in r]
check("--s-tol 2.7e-4: status truncation exactly where the estimate exceeds it (and some ok)",
      rc == 0 and [x["status"] for x in r] == want and "truncation" in want and "ok" in want,
      f"{[x['status'] for x in r]} vs {want}")
n_bad = want.count("truncation")
check("--s-tol: one warning line counting the points above it",
      f"warning: {n_bad} of 9 points read truncation: {n_bad} have an estimated truncation error of S above --s-tol 0.00027"
      in err and "not estimated themselves" not in err, err)
j = json.load(open(os.path.join(TMP, "c", "sweep.json")))
check("sweep.json records the check (mode every point, s_tol)",
      j["truncation_check"]["mode"] == "every point" and j["truncation_check"]["s_tol"] == 2.7e-4, str(j.get("truncation_check")))

rc, err = sweep("d", FIG2B, "--vary", "1.omega=-20:20:5", "--no-truncation-check")
r = rows("d")
old = ["top-level" if float(x["top_population"]) > 1e-3 else "ok" for x in r]
check("--no-truncation-check: the old status (top-level from the top population), truncation_error nan",
      rc == 0 and [x["status"] for x in r] == old and "top-level" in old and all(math.isnan(float(x["truncation_error"])) for x in r),
      f"{[x['status'] for x in r]}")
check("--no-truncation-check: sweep.json says off",
      json.load(open(os.path.join(TMP, "d", "sweep.json")))["truncation_check"]["mode"] == "off")
check("--no-truncation-check: the warning names the top level", "have a top level above --top-tol" in err, err)

# the cost rule: two oscillators at 44 levels need 60765 unknowns for one more level (> 60000)
rc, err = sweep("e", FIG2B, "--levels", "44", "--vary", "1.omega=20", "--top-tol", "1e-12")
r = rows("e")
check("too costly by default: not estimated (nan), status top-level from the top population, one line saying how",
      rc == 0 and math.isnan(float(r[0]["truncation_error"])) and r[0]["status"] == "top-level"
      and "--truncation-check computes it" in err, f"exit {rc}: {r[0] if r else ''} {err}")
rc, err = sweep("f", FIG2B, "--levels", "44", "--vary", "1.omega=20", "--top-tol", "1e-12", "--truncation-check")
r = rows("f")
check("--truncation-check: estimated even there, status ok",
      rc == 0 and float(r[0]["truncation_error"]) < 5e-3 and r[0]["status"] == "ok", f"exit {rc}: {r[0] if r else err}")

p = subprocess.run([QSYNC, "sweep", FIG2B, "--vary", "1.omega=0", "--out", os.path.join(TMP, "g"), "--s-tol", "0"],
                   capture_output=True, text=True)
check("--s-tol 0: exit 2 naming the flag", p.returncode == 2 and "--s-tol" in p.stderr, f"{p.returncode}: {p.stderr}")

# --- the journal round trip with the new column --------------------------------------------
rc, err = sweep("h", FIG2B, "--vary", "1.omega=-20:20:9", "--s-tol", "2.7e-4", "--truncation-every-point")
first = open(os.path.join(TMP, "h", "sweep.csv")).read()
jpath = os.path.join(TMP, "h", "sweep.partial.csv")
lines = open(jpath).read().splitlines()
check("journal header ends with truncation_error,crc32", lines[1].endswith(",truncation_error,crc32"), lines[1])
rc, err = sweep("h", FIG2B, "--vary", "1.omega=-20:20:9", "--s-tol", "2.7e-4", "--truncation-every-point", "--resume")
check("--resume reads every journal row (the new column parsed) and writes the same sweep.csv",
      rc == 0 and "9 of 9 points already done" in err and open(os.path.join(TMP, "h", "sweep.csv")).read() == first, err)
# the CRC covers the column: change its digits and the row is discarded
f = lines[3].split(",")
f[-2] = repr(float(f[-2]) * 2)
lines[3] = ",".join(f)
open(jpath, "w").write("\n".join(lines) + "\n")
rc, err = sweep("h", FIG2B, "--vary", "1.omega=-20:20:9", "--s-tol", "2.7e-4", "--truncation-every-point", "--resume")
check("a journal row with a changed truncation_error is discarded (CRC) and recomputed; sweep.csv unchanged",
      rc == 0 and "discarded 1 journal rows" in err and open(os.path.join(TMP, "h", "sweep.csv")).read() == first, err)
statuses = [x["status"] for x in rows("h")]
check("journal round trip keeps both status words", "ok" in statuses and "truncation" in statuses, str(statuses))
rc, err = sweep("h", FIG2B, "--vary", "1.omega=-20:20:9", "--s-tol", "1e-3", "--truncation-every-point", "--resume")
check("another --s-tol is another sweep: its journal is refused", rc == 2 and "belongs to a different sweep" in err, err)

# --- levels = auto by the tolerance on S, as steady chooses ------------------------------
rc, err = sweep("i", FIG2B, "--levels", "auto", "--vary", "1.omega=20", "--truncation-every-point")
lv = [o["levels"] for o in json.load(open(os.path.join(TMP, "i", "sweep.json")))["model"]["oscillators"]]
d = steady(FIG2B, "--levels", "auto", "--set", "1.omega=20")
check("levels = auto in a sweep of one point: the levels steady --levels auto chooses (by S)",
      rc == 0 and lv == [o["levels"] for o in d["oscillators"]], f"{lv} vs {[o['levels'] for o in d['oscillators']]}")
r = rows("i")
check("levels = auto: the point meets --s-tol (status ok)", r[0]["status"] == "ok" and float(r[0]["truncation_error"]) <= 5e-3,
      str(r[0]))
rc, err = sweep("k", FIG2B, "--levels", "auto", "--vary", "1.omega=-20:20:5", "--s-tol", "1e-3", "--truncation-every-point")
r = rows("k")
lk = [o["levels"] for o in json.load(open(os.path.join(TMP, "k", "sweep.json")))["model"]["oscillators"]]
check("levels = auto with --s-tol 1e-3 over an axis: more levels than at 5e-3, corners and centre below 1e-3",
      rc == 0 and lk[0] > lv[0] and all(float(r[i]["truncation_error"]) <= 1e-3 for i in (0, 2, 4)),
      f"{lk}, {[r[i]['truncation_error'] for i in (0, 2, 4)]}")

shutil.rmtree(TMP, ignore_errors=True)
finish()
