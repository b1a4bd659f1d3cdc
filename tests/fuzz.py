#!/usr/bin/python3
"""fuzz.py — generated hostile input for the model reader and for every command's flags.

usage: fuzz.py QSYNC [--count N] [--seed S] [--timeout SEC] [--max-time SEC] [--keep DIR] [--verbose]

Cases come from a fixed seed (same seed and count: same cases, in the same order):
  model  mutations of the example models and tests/models/*.ini (lines deleted, duplicated or
         swapped; bad keys, sections, names and numbers; random and NUL bytes, CR, very long
         lines, unicode; truncation, bit flips), read by steady, perturb, classical and sweep;
  flags  each command's flags (steady, sweep, perturb, resonances, implement, classical,
         figure): unknown flags, missing values, out-of-range, huge and negative numbers,
         malformed --set/--vary/--tie, --solver and --preconditioner (every valid choice, also
         with each other and with --no-symmetry, and bad ones), model paths that do not exist
         or are not files, and outputs that do not exist, are directories, symlinks to
         /dev/null and /dev/full, or character devices (created inside the case folder: the
         real /dev is never written).
Every case is small (2..5 levels, a memory limit, short classical runs) and runs in its own
scratch folder with an argument list (no shell). A case passes when the process
  - is not killed by a signal and ends within --timeout seconds (else: a hang),
  - exits 0, 1, 2, 3 or 4 (130 belongs to interrupted sweeps, and no case interrupts one),
  - prints no sanitizer report on stderr,
  - on exit 2 names on stderr the file (with its line, for a model file's content) or the flag,
  - never lets text of an output path reach a shell (a canary `$(touch PWNED)` path),
  - and writes through a symlink or to a device node given as output, never replacing it.
Every case of a plain build runs under a 4 GiB address-space limit, of a sanitizer build under
ASan's hard_rss_limit_mb=4000, so that no case can take the machine's memory.
A few cases run a model under a small address-space limit (ulimit -v; on a sanitizer build, which
cannot run under one, --memory-limit instead): exit 4 or a result, never a signal or a hang.
Output: one FAIL line per failing case with its reproducer (argv; the case folder, with the
model file, is kept under --keep), then one line per distinct failure class, and the closing
"N passed, N failed" (one count per case). --max-time bounds the wall time: cases not started
by then are not run (and not counted); the run says so.
Standard library only (Debian's /usr/bin/python3).
"""
import argparse
import os
import random
import re
import resource
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")
ALLOWED_EXIT = {0, 1, 2, 3, 4}

# ---------------------------------------------------------------------------------------------
# Vocabulary

BAD_NUMBERS = ["nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e308", "-1e308", "1e309", "1e-320",
               "-0", "0", "-1", "-1e300", "1e300", "0x10", "0x1p3", "", " ", "1e", "1.2.3", "+", "--1",
               "1,5", "\u0661", "9" * 400, "auto", "2+3i", "1e-300", "65535", "65536", "2147483648",
               "-2147483649", "99999999999999999999", "3.5", "1/0", "0.0000001", "1e20", "-1e20",
               "true", "\u00bd", "\uff11", "5 5", "4#x", "1_000"]
HUGE_LEVELS = ["0", "1", "-1", "-2", "65535", "65536", "100000", "2147483647", "2147483648", "4294967298",
               "1e9", "2.5", "auto", "AUTO", "", "0x4", "-0", "9" * 30]
OSC_KEYS = ["omega", "K", "gamma", "gamma_plus", "gamma_minus", "sigma", "sigma_plus", "sigma_minus",
            "nbar", "n_plus", "n_minus", "noise", "gamma_T", "levels"]
BAD_KEYS = ["omeag", "Omega", "k", "", " ", "levels levels", "sigma_", "gamma-T", "\u03c9", "1-",
            "-", "a-b-c", "x" * 300, "sigma\u00a0", "nbar\x01", "K.K", "[", "=", ";", "#"]
BAD_SECTIONS = ["[oscillator]", "[oscillator ]", "[oscillator a b]", "[Oscillator x]", "[coupling extra]",
                "[defaults]", "[coupling]", "[", "[]", "[oscillator \u00e9]", "[oscillator " + "n" * 300 + "]",
                "[oscillator 1-2]", "[oscillator a.b]", "[ oscillator  z ]", "[osc]", "[oscillator \x00]",
                "[oscillator x]]", "[[oscillator y]", "]oscillator w[", "[defaults] x"]
BAD_NAMES = ["", " ", "1", "A", "a b", "\u00e9", "x" * 300, "-", "a-b", "a.b", "Z9_", "\U0001f600",
             "a\tb", "_", "0", "defaults", "coupling", "\u202e"]
UNICODE_BITS = ["\ufeff", "\u00a0", "\uff1d", "\u202e", "\u0000", "\u2028", "\u00e9", "\U0001f600",
                "\u0301", "\ufffd", "\u200b"]
BAD_PATHS = ["1.x", "=1", "zz.omega", "1.", ".omega", "1-1", "1-zz", "1--2", "-2", "omega.1", "a" * 300,
             "1.omega.K", "1-2-3", "levels", "", "1.levels", "K", "1.\u00e9", "1 .omega"]


def fmt_arg(a):
    """An argument quoted for a human reader's shell (bash $'..' when it is not printable)."""
    if a and all(ch.isprintable() and ord(ch) < 0x10000 and not 0xDC80 <= ord(ch) <= 0xDCFF for ch in a):
        return shlex.quote(a)
    out = []
    for b in os.fsencode(a):
        ch = chr(b)
        if 32 <= b < 127 and ch not in "'\\":
            out.append(ch)
        else:
            out.append("\\x%02x" % b)
    return "$'" + "".join(out) + "'"


class Case:
    """One generated case: argv (after the program), model bytes to write, what an exit 2
    must name on stderr, and files to prepare in the scratch folder."""

    def __init__(self, kind, argv, what):
        self.kind = kind              # model | flags | path
        self.argv = argv
        self.what = what              # a short description of the mutations
        self.model_name = None        # file name of the model written into the case folder
        self.model_bytes = None
        self.names = []               # exit 2: stderr names one of these
        self.line_required = False    # exit 2: ... and, for model content, MODEL:LINE
        self.canary = False           # an output path carries $(touch PWNED)
        self.address_limit = None     # MiB of address space (ulimit -v), plain builds only


# ---------------------------------------------------------------------------------------------
# Models

def load_models():
    models = []
    for d in (os.path.join(ROOT, "examples"), os.path.join(HERE, "models")):
        for f in sorted(os.listdir(d)):
            if f.endswith(".ini"):
                with open(os.path.join(d, f), "rb") as fp:
                    text = fp.read().decode("utf-8")
                names = re.findall(r"^\s*\[oscillator\s+(\w+)\s*\]", text, re.M)
                couplings = re.findall(r"^\s*(\w+-\w+)\s*=", text, re.M)
                models.append({"file": f, "text": text, "names": names, "couplings": couplings})
    return models


def mutate_lines(rng, text):
    """One mutation of a model's text (a str, except for byte-level mutations: bytes)."""
    lines = text.split("\n")
    n = len(lines)
    k = rng.randrange(n)
    m = rng.randrange(22)
    if m == 0:
        del lines[k]
        return "\n".join(lines), "delete line %d" % (k + 1)
    if m == 1:
        lines.insert(rng.randrange(n + 1), lines[k])
        return "\n".join(lines), "duplicate line %d" % (k + 1)
    if m == 2:
        j = rng.randrange(n)
        lines[k], lines[j] = lines[j], lines[k]
        return "\n".join(lines), "swap lines %d and %d" % (k + 1, j + 1)
    kv = [i for i, l in enumerate(lines) if re.match(r"^\s*[^#;\[\s][^=]*=", l)]
    if m == 3 and kv:
        i = rng.choice(kv)
        lines[i] = rng.choice(BAD_KEYS) + " =" + lines[i].split("=", 1)[1]
        return "\n".join(lines), "bad key on line %d" % (i + 1)
    if m in (4, 5) and kv:
        i = rng.choice(kv)
        key = lines[i].split("=", 1)[0]
        val = rng.choice(HUGE_LEVELS if key.strip() == "levels" and m == 5 else BAD_NUMBERS)
        lines[i] = key + "= " + val
        return "\n".join(lines), "value %r on line %d" % (val, i + 1)
    sec = [i for i, l in enumerate(lines) if l.lstrip().startswith("[")]
    if m == 6 and sec:
        i = rng.choice(sec)
        lines[i] = rng.choice(BAD_SECTIONS)
        return "\n".join(lines), "section %r on line %d" % (lines[i], i + 1)
    if m == 7:
        osc = [i for i, l in enumerate(lines) if re.match(r"^\s*\[oscillator", l)]
        cpl = [i for i, l in enumerate(lines) if re.match(r"^\s*\w+-\w+\s*=", l)]
        if osc and (rng.random() < 0.5 or not cpl):
            i = rng.choice(osc)
            lines[i] = "[oscillator %s]" % rng.choice(BAD_NAMES)
        elif cpl:
            i = rng.choice(cpl)
            a, b = re.match(r"^\s*(\w+)-(\w+)", lines[i]).groups()
            pick = rng.choice(["%s-%s" % (a, a), "%s-zz" % a, "%s--%s" % (a, b), "-%s" % b, "%s-%s-%s" % (a, b, a),
                               "%s-%s" % (b, a), "%s - %s" % (a, b), "%s-%s" % (a, rng.choice(BAD_NAMES))])
            lines[i] = pick + " = " + rng.choice(["0.1", "0.1+0.05i", "-0.1i", "1e308", "nan", "i", "1+", "0.1i+2",
                                                  "2i3", "+-0.1i", "1e309i", "0x1i"])
        else:
            return mutate_lines(rng, text)
        return "\n".join(lines), "name on line %d: %r" % (i + 1, lines[i])
    if m == 8:
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
        enc = "\n".join(lines[:k]).encode("utf-8", "surrogateescape") + b"\n" + junk + b"\n" + "\n".join(lines[k:]).encode("utf-8", "surrogateescape")
        return enc, "random bytes before line %d" % (k + 1)
    if m == 9:
        raw = text.encode("utf-8", "surrogateescape")
        pos = rng.randrange(len(raw) + 1)
        extra = rng.choice([b"\x00", b"\x00K = 99\n", b"\x00\n", b"\x00" * 10])
        return raw[:pos] + extra + raw[pos:], "NUL byte at offset %d" % pos
    if m == 10:
        if rng.random() < 0.5:
            return text.replace("\n", "\r\n"), "CRLF line ends"
        lines[k] = lines[k] + "\r" + rng.choice(["", "K = 99", "[oscillator q]"])
        return "\n".join(lines), "CR inside line %d" % (k + 1)
    if m == 11:
        size = rng.choice([300, 4096, 70000, 200000])
        form = rng.randrange(4)
        long = ["#" + "x" * size, "omega = " + "1" * size, "x" * size + " = 1",
                "omega = 1 ; " + "c" * size][form]
        lines.insert(k, long)
        return "\n".join(lines), "line of %d characters at line %d" % (size, k + 1)
    if m == 12:
        bit = rng.choice(UNICODE_BITS)
        if rng.random() < 0.3:
            return bit + text, "unicode %r at the start" % bit
        line = lines[k]
        p = rng.randrange(len(line) + 1)
        lines[k] = line[:p] + bit + line[p:]
        return "\n".join(lines), "unicode %r in line %d" % (bit, k + 1)
    if m == 13:
        key = rng.choice(OSC_KEYS)
        val = rng.choice(HUGE_LEVELS if key == "levels" else BAD_NUMBERS + ["1", "0.5", "2", "20"])
        lines.insert(rng.randrange(n + 1), "%s = %s" % (key, val))
        return "\n".join(lines), "inserted %s = %r" % (key, val)
    if m == 14:
        raw = text.encode("utf-8", "surrogateescape")
        pos = rng.randrange(len(raw) + 1)
        return raw[:pos], "truncated at byte %d" % pos
    if m == 15:
        raw = bytearray(text.encode("utf-8", "surrogateescape"))
        if raw:
            p = rng.randrange(len(raw))
            raw[p] ^= 1 << rng.randrange(8)
        return bytes(raw), "bit flip"
    if m == 16:
        form = rng.choice(["%s = 1 = 2", "= 3", "%s =", "%s 3", "  %s = 4", "\t%s = 5", "%s: 6", "%s == 7",
                           "%s = 8 ; comment", "%s = 9 # comment", "%s=10;x", "%s = \"1\"", "%s = '2'"])
        line = form % rng.choice(OSC_KEYS) if "%s" in form else form
        lines.insert(k, line)
        return "\n".join(lines), "line %r at %d" % (line, k + 1)
    if m == 17:
        return rng.choice(["", "\n", "# only a comment\n", "[defaults]\n", "[oscillator a]\n",
                           "[oscillator a]\nsigma = 0.2\nnbar = 1\n", "\x00", "\ufeff", "[coupling]\na-b = 1\n",
                           "[oscillator a]\n[oscillator a]\nsigma = 0.2\nnbar = 1\n"]), "replaced by a tiny file"
    if m == 18:
        osc = [i for i, l in enumerate(lines) if re.match(r"^\s*\[oscillator", l)]
        if osc:
            i = rng.choice(osc)
            name = rng.choice(["extra", "B9", "n_" + str(rng.randrange(100))])
            lines.insert(i, "[oscillator %s]" % name)
            return "\n".join(lines), "extra oscillator %s at line %d" % (name, i + 1)
        return mutate_lines(rng, text)
    if m == 19:
        return text.replace("=", rng.choice([" = ", "==", ":", "\u2261"]), 1), "first '=' replaced"
    if m == 20:
        return text * rng.choice([2, 3]), "whole file repeated"
    return text.replace("\n", "\r"), "CR line ends"


# ---------------------------------------------------------------------------------------------
# Command lines

SAFE_OUTPUTS = ["out", "nope/deeper/out", "adir", "afile", "devnull", "devfull", "nodenull", "nodefull",
                "x" * 300, "d/" * 100 + "o"]
ODD_OUTPUTS = SAFE_OUTPUTS + ["", "\u00e9t\u00e9 out", "sp ace", "\udcff\udcfe", "-dash", "q'uote", "new\nline"]


def small_levels(rng, model):
    n = max(1, len(model["names"]))
    return str(rng.randint(2, 5 if n <= 2 else 3 if n <= 4 else 2))


def base_argv(rng, cmd, model, mpath):
    """A valid command line for cmd (mpath: the model file as given), cheap to run."""
    names = model["names"] or ["1"]
    cpl = model["couplings"][0] if model["couplings"] else "%s-%s" % (names[0], names[-1])
    mem = rng.choice(["64M", "128M", "200M"])
    if cmd == "steady":
        a = [mpath, "--levels", small_levels(rng, model), "--memory-limit", mem]
        for extra in rng.sample([["--json"], ["--no-symmetry"], ["--solver", rng.choice(["auto", "direct", "iterative"])],
                                 ["--solver", "auto", "--preconditioner", rng.choice(["auto", "block", "uncoupled"])],
                                 ["--preconditioner", rng.choice(["auto", "block", "uncoupled"])],
                                 ["--lu", rng.choice(["klu", "umfpack", "auto"])], ["--top-tol", "0.5"],
                                 ["--residual-tol", "1e-6"], ["--tail-tol", "0.01"], ["--restart", "20"],
                                 ["--iterative-tol", "1e-10"], ["--phase-distribution", "phase.csv"],
                                 ["--set", "%s.omega=%g" % (names[0], rng.uniform(-30, 30))],
                                 ["--set", "%s=%g" % (cpl, rng.uniform(0, 0.3))]], rng.randrange(4)):
            a += extra
        if len(names) <= 2 and rng.random() < 0.1:
            a += ["--full"]
        return a
    if cmd == "sweep":
        axis = rng.choice(["K=5:10:2", "nbar=1:2:2", "omega=0:1:2", "%s.omega=0:20:3" % names[0],
                           "%s=0.05,0.1" % cpl, "sigma=0.2:0.4:2"])
        a = [mpath, "--levels", rng.choice(["2", "3"]), "--vary", axis, "--out", "sw", "--no-plot",
             "--threads", rng.choice(["1", "2"]), "--memory-limit", mem]
        for extra in rng.sample([["--perturb"], ["--tie", "K=1/sigma"], ["--set", "%s=0.1" % cpl], ["--resume"],
                                 ["--solver", "iterative"], ["--cold-start"], ["--vary", "gamma=1:1.5:2"],
                                 ["--solver", rng.choice(["auto", "iterative"]),
                                  "--preconditioner", rng.choice(["auto", "block", "uncoupled"])]],
                                rng.randrange(3)):
            a += extra
        if rng.random() < 0.15:
            a += ["--classical", "--time", "1", "--burn-in", "0.5", "--trajectories", "96", "--replicas", "4"]
            if rng.random() < 0.5:
                a += ["--target-err", "0.5"]
        return a
    if cmd == "perturb":
        a = [mpath]
        if rng.random() < 0.5:
            a += ["--json"]
        if rng.random() < 0.5:
            a += ["--set", "%s=%g" % (cpl, rng.uniform(0, 0.01))]
        if rng.random() < 0.3:
            a += ["--levels", small_levels(rng, model)]
        return a
    if cmd == "classical":
        a = [mpath, "--time", rng.choice(["1", "2"]), "--burn-in", "0.5", "--trajectories", rng.choice(["96", "128"]),
             "--replicas", rng.choice(["3", "4", "8"]), "--threads", "1"]
        for extra in rng.sample([["--json"], ["--dt", "0.05"], ["--cutoff", "8"], ["--seed", "7"],
                                 ["--sample-every", "0.25"], ["--significance", "1"], ["--histogram", "10:8"],
                                 ["--set", "noise=0.2"]], rng.randrange(4)):
            a += extra
        return a
    if cmd == "resonances":
        a = ["--K", rng.choice(["5", "10", "0.5"])]
        if rng.random() < 0.7:
            a += ["--delta-n", rng.choice(["-2:2", "0:3", "-1:1"])]
        if rng.random() < 0.5:
            a += ["--delta", "-50:50"]
        if rng.random() < 0.5:
            a += ["--json"]
        return a
    if cmd == "implement":
        a = ["--g", "0.5", "--kappa", "10", "--K", "20", "--delta-plus", "80", "--delta-minus", "-100", "--omega0", "0"]
        if rng.random() < 0.5:
            a += ["--json"]
        return a
    if cmd == "figure":
        return [rng.choice(["2b", "3c", "3d", "4a", "ring4"]), "--points", "4", "--levels", "3", "--out", "fig", "--threads", "1"]
    raise ValueError(cmd)


# flags whose value is a number, per command, with the values that must stay cheap when valid
NUM_FLAGS = {
    "steady": ["--levels", "--memory-limit", "--tail-tol", "--top-tol", "--residual-tol", "--iterative-tol", "--restart"],
    "sweep": ["--levels", "--memory-limit", "--threads", "--tail-tol", "--top-tol", "--residual-tol",
              "--iterative-tol", "--restart", "--target-err"],
    "perturb": ["--levels"],
    "classical": ["--cutoff", "--dt", "--burn-in", "--time", "--sample-every", "--significance", "--seed",
                  "--trajectories", "--replicas", "--threads", "--levels"],
    "resonances": ["--K"],
    "implement": ["--g", "--kappa", "--K", "--delta-plus", "--delta-minus", "--omega0"],
    "figure": ["--threads"],
}
VALUE_FLAGS = {c: NUM_FLAGS[c] + x for c, x in {
    "steady": ["--set", "--solver", "--lu", "--preconditioner", "--phase-distribution"],
    "sweep": ["--set", "--vary", "--tie", "--out", "--solver", "--lu", "--preconditioner"],
    "perturb": ["--set"],
    "classical": ["--set", "--histogram"],
    "resonances": ["--delta-n", "--delta"],
    "implement": [],
    "figure": ["--out"],
}.items()}
# flags whose large valid values are merely slow (a slow run is not a bug): only their bad values
COSTLY = {"--time", "--burn-in", "--trajectories", "--levels", "--threads"}
EXTREME_NUMBERS = ["nan", "inf", "-inf", "-1", "0", "-0", "1e308", "1e300", "1e-300", "1e-320", "", "abc",
                       "99999999999999999999", " -1", "1e309", "0x10", "2147483648", "-2147483649", "\uff11", "1e6"]


# perturb has no memory plan to refuse with: its first order costs O(levels^2) per pair, so the
# largest valid levels (65535) are merely slow there (minutes to hours), not a refusal
PERTURB_LEVELS = [v for v in HUGE_LEVELS if v != "65535"]


def bad_value(rng, flag, cmd=None):
    if flag in ("--time", "--burn-in"):
        return rng.choice(["nan", "inf", "-1", "-0", "0", "1e308", "1e300", "1e309", "", "abc", "1e-320"])
    if flag == "--trajectories":
        return rng.choice(["0", "1", "-1", "nan", "1e9", "100000001", "99999999999999999999", "", "3.5", " 4", "64x"])
    if flag == "--levels":
        return rng.choice(PERTURB_LEVELS if cmd == "perturb" else HUGE_LEVELS)
    if flag in ("--dt", "--sample-every", "--cutoff", "--significance", "--seed", "--replicas"):
        return rng.choice(EXTREME_NUMBERS + ["1e20", "1e-20"])
    if flag == "--memory-limit":
        return rng.choice(["0", "-1", "inf", "nan", "1e308", "1e308G", "5X", "M", "", "1k", "0.5", "1e-300M", "200MB",
                           "200 M", "18446744073709551616", "1e20"])
    if flag == "--threads":
        return rng.choice(["0", "-1", "1025", "1e9", "nan", "1.5", "", "2x", "99999999999999999999"])
    if flag in ("--delta-n", "--delta"):
        return rng.choice(["1e300:1e300", "-1e300:1e300", "nan:1", "1:nan", "inf:inf", "1", ":", "1:2:3", "",
                           "-2:-1e18", "1e18:1e18", "9223372036854775807:9223372036854775807", "a:b",
                           "-1e6:1e6", "x" * 200 + ":1", "1:" + "9" * 400])
    if flag == "--histogram":
        return rng.choice(["0:8", "-1:8", "10:0", "10:-1", "10:nan", "10", ":8", "100001:8", "10:1e308", "1e3:8",
                           "10:8:9", "", "99999999999999999999:8", "10:1e-320"])
    if flag == "--set":
        return bad_set(rng)
    if flag == "--vary":
        return bad_vary(rng)
    if flag == "--tie":
        return bad_tie(rng)
    if flag in ("--solver", "--lu"):
        return rng.choice(["", "AUTO", "gmres", "klu ", "lu", "x" * 500, "direct,iterative"])
    if flag == "--preconditioner":
        return rng.choice(["", "AUTO", "Block", "block ", " uncoupled", "ilu", "jacobi", "none", "block,uncoupled",
                           "x" * 500, "-1", "0", "1", "auto\x01", "bl\u00f6ck", "--solver"])
    if flag in ("--out", "--phase-distribution"):
        return rng.choice(ODD_OUTPUTS)
    return rng.choice(BAD_NUMBERS)


def bad_set(rng):
    return rng.choice(["x", "=1", "1.omega=", "omega=abc", "zz.omega=1", "1-1=0.1", "1-2=1+i", "1-2=nan", "levels=1",
                       "levels=100000", "levels=-3", "1.=3", ".omega=2", "a" * 300 + "=1", "1-2=0.1+0.1i+1",
                       "K=1e309", "sigma=0", "sigma=-1", "gamma=-1", "nbar=nan", "1.levels=1e9", "==", "1-2==3",
                       "A-B=" + "9" * 400, "1.omega=0x1p3", "noise=-1", "gamma_T=-inf", "omega=1=2", "1-2=2i3"]
                      + ["%s=%s" % (p, rng.choice(BAD_NUMBERS)) for p in ("omega", "1.K", "1-2", "A-B", "levels")]
                      + ["%s=1" % p for p in BAD_PATHS])


def bad_vary(rng):
    return rng.choice(["x", "1.omega", "1.omega=0:1", "omega=0:1:0", "omega=0:1:-1", "omega=0:1:1e12",
                       "omega=0:1:99999999999999999999", "omega=nan:1:3", "omega=0:inf:3", "omega=0:1:3.5",
                       "levels=2,3", "levels=3,2", "levels=4,12", "levels=2,5", "levels=3,6,2", "levels=2:3:2", "levels=1,2", "levels=2,100000", "omega,K=0:1:2",
                       ",=0:1:2", "omega=", "omega=1,,2", "A-B=0.1+0.1i:0.2:3", "zz.omega=0:1:2", "=0:1:2",
                       "omega=0:1:2:3", "omega=1e308:-1e308:3", "omega=" + ",".join(["1"] * 2000), "K=-1:1:3",
                       "sigma=-1:1:3", "omega=0:1:1e7,K=1", "omega=::", "omega=0:1:" + "9" * 300,
                       "omega=a:b:c", "omega=1e-320:2e-320:2", "%s=0:1:2" % rng.choice(BAD_PATHS)])


def bad_tie(rng):
    return rng.choice(["K", "K=", "K=1/0", "K=sigma+", "K=unknownvar", "zz.K=1", "K=1e400", "K=sqrt(-1)",
                       "K=" + "+".join(["sigma"] * 3000), "=1", "K=log(0)", "levels=sigma", "levels=1e9",
                       "sigma=-1", "K=1/sigma=2", "omega=omega", "K=K+1", "1-2=0.1", "A-B=sigma", "K=exp(1000)",
                       "K=(((", "K=\u03c3", "K=nan", "K=inf", "K=" + "9" * 400])


UNKNOWN_FLAGS = ["--xyz", "-x", "---levels", "--levels2", "--LEVELS", "--", "-", "--json=1", "--full=yes",
                 "--help-me", "--set-", "-h1", "--\u00e9", "--" + "z" * 500, "--no-plotx", "--classicalx", "--vary2"]


def flag_case(rng, models, cmd):
    model = rng.choice([m for m in models if cmd != "classical" or m["file"] in ("fig2a.ini", "fig2b.ini")])
    argv = base_argv(rng, cmd, model, "model.ini")
    case = Case("flags", None, "")
    what, names = [], []
    for _ in range(rng.choice([1, 1, 1, 2])):
        m = rng.randrange(8)
        if m == 0:                                  # an unknown flag
            f = rng.choice(UNKNOWN_FLAGS)
            k = rng.randrange(len(argv) + 1)
            argv.insert(k, f)
            what.append("unknown flag %r" % f)
            names.append(f)
            if k > 0 and argv[k - 1].startswith("-"):   # it became the value of the flag before, whose
                names += [argv[k - 1], argv[k + 1]] if k + 1 < len(argv) else [argv[k - 1]]   # value is displaced
        elif m == 1 and VALUE_FLAGS[cmd]:           # a flag without its value, at the end
            f = rng.choice(VALUE_FLAGS[cmd])
            argv.append(f)
            what.append("missing value for %s" % f)
            names.append(f)
        elif m in (2, 3, 4) and VALUE_FLAGS[cmd]:   # a bad value (replacing or adding the flag)
            f = rng.choice(VALUE_FLAGS[cmd])
            v = bad_value(rng, f, cmd)
            if f in ("--out", "--phase-distribution") and v.startswith("-"):
                v = "./" + v
            if f in argv[:-1] and rng.random() < 0.7:
                argv[argv.index(f) + 1] = v
            elif rng.random() < 0.3:
                argv.append("%s=%s" % (f, v))
            else:
                argv += [f, v]
            what.append("%s %r" % (f, v))
            names.append(f)
            if f == "--vary" and rng.random() < 0.1:   # 10^12 points in two axes: refused at once, not run
                argv += ["--vary", "omega=0:1:1000000", "--vary", "gamma=1:2:1000000"]
                what.append("a grid of 10^12 points")
        elif m == 5:                                # huge / negative numbers in numeric flags
            f = rng.choice(NUM_FLAGS[cmd])
            v = bad_value(rng, f, cmd) if rng.random() < 0.5 else rng.choice(
                ["-1", "-1e300", "1e300", "-0", "0", "1e-300"] if f in COSTLY else
                ["1e308", "-1e308", "1e300", "1e-300", "-1", "0", "4294967297", "-9223372036854775809"])
            argv += [f, v]
            what.append("%s %r" % (f, v))
            names.append(f)
        elif m == 6 and cmd in ("steady", "sweep", "perturb", "classical"):   # the model path itself
            # (/dev/zero and a FIFO hang today: rare, each hang costs a whole timeout)
            p = rng.choice(["missing.ini", "adir", "/dev/null", "nope/x.ini", "-", "x" * 5000, "\udcff.ini",
                            "model.ini/", "afile"] * 3 + ["/dev/zero", "fifo"])
            argv[0] = p
            what.append("model path %r" % p)
            names.append(p)
            case.kind = "path"
        elif m == 7 and cmd in ("steady", "sweep", "figure"):   # an output that is not a writable file
            f = {"steady": "--phase-distribution", "sweep": "--out", "figure": "--out"}[cmd]
            v = rng.choice(SAFE_OUTPUTS if cmd == "figure" else ODD_OUTPUTS)
            if v.startswith("-"):
                v = "./" + v
            if f in argv[:-1]:
                argv[argv.index(f) + 1] = v
            else:
                argv += [f, v]
            what.append("%s %r" % (f, v))
            names += [f, v]
        else:                                       # duplicate a flag with a bad value
            f = rng.choice(NUM_FLAGS[cmd])
            v = bad_value(rng, f, cmd)
            argv += [f, v]
            what.append("%s %r (again)" % (f, v))
            names.append(f)
    case.argv = [cmd] + argv
    case.what = "; ".join(what)
    if cmd in ("steady", "sweep", "perturb", "classical"):
        names.append(argv[0])          # an error of the model (or of what a flag did to it) names the file
    case.names = names
    case.model_name = "model.ini"
    case.model_bytes = model["text"].encode()
    return case


def model_case(rng, models):
    model = rng.choice(models)
    text = model["text"]
    what = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        text, w = mutate_lines(rng, text if isinstance(text, str) else text.decode("utf-8", "surrogateescape"))
        what.append(w)
    raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")
    name = rng.choice(["model.ini"] * 6 + ["m\u00f6del file.ini", "x.INI", "noext"])
    cmd = rng.choice(["steady"] * 5 + ["perturb", "perturb", "classical", "sweep"])
    many = len(model["names"]) > 4
    if cmd == "steady":
        argv = ["steady", name, "--memory-limit", rng.choice(["32M", "64M"])]
        if many or rng.random() < 0.7:
            argv += ["--levels", "2" if many else str(rng.randint(2, 4))]
        if rng.random() < 0.3:
            argv += ["--json"]
    elif cmd == "perturb":
        argv = ["perturb", name] + (["--json"] if rng.random() < 0.5 else [])
    elif cmd == "classical":
        argv = ["classical", name, "--time", "1", "--burn-in", "0.5", "--trajectories", "96", "--replicas", "4",
                "--threads", "1"]
    else:
        argv = ["sweep", name, "--levels", "2", "--vary", rng.choice(["K=5:10:2", "nbar=1:2:2", "omega=0:1:2"]),
                "--out", "sw", "--no-plot", "--threads", "1", "--memory-limit", "64M"]
    case = Case("model", argv, "%s: %s" % (model["file"], "; ".join(what)))
    case.model_name = name
    case.model_bytes = raw
    case.names = [name]
    case.line_required = True
    return case


def canary_case(rng, models):
    """An output folder whose name would run a command in a shell (gnuplot is started for plots)."""
    cmd = rng.choice(["sweep", "sweep", "figure"])
    out = rng.choice(["x'$(touch PWNED)'", "x';touch PWNED;'", "x`touch PWNED`", "$(touch PWNED)"])
    model = next(m for m in models if m["file"] == "fig2b.ini")
    if cmd == "sweep":
        argv = ["sweep", "model.ini", "--levels", "2", "--vary", "1.omega=0:20:2", "--out", out, "--threads", "1"]
    else:
        argv = ["figure", "2b", "--points", "4", "--levels", "3", "--out", out, "--threads", "1"]
    case = Case("flags", argv, "shell canary in --out %r" % out)
    case.model_name = "model.ini"
    case.model_bytes = model["text"].encode()
    case.names = ["--out", out]
    case.canary = True
    return case


def limit_case(rng, models):
    """A model under an address-space limit (ulimit -v): refused (exit 4) or solved, never a signal
    or a hang. AddressSanitizer cannot run under such a limit: there, the same as --memory-limit."""
    model = rng.choice(models)
    argv = ["steady", "model.ini"]
    if rng.random() < 0.3:
        argv += ["--levels", small_levels(rng, model)]
    case = Case("limit", argv, "%s under ulimit -v" % model["file"])
    case.model_name = "model.ini"
    case.model_bytes = model["text"].encode()
    case.names = ["model.ini"]
    case.address_limit = rng.choice([100, 150, 300, 600, 1000])
    case.what += " %d MiB" % case.address_limit
    return case


def generate(rng, models):
    r = rng.random()
    if r < 0.5:
        return model_case(rng, models)
    if r < 0.51:
        return canary_case(rng, models)
    if r < 0.515:
        return limit_case(rng, models)
    cmd = rng.choice(["steady"] * 3 + ["sweep"] * 3 + ["perturb", "classical", "classical", "resonances",
                                                      "implement", "figure"])
    return flag_case(rng, models, cmd)


# ---------------------------------------------------------------------------------------------
# Running and judging

def prepare(folder, case):
    """Files every case may name: a model, a folder, a file, symlinks to /dev/null and /dev/full,
    character devices for null and full (inside the folder), a FIFO."""
    os.makedirs(os.path.join(folder, "adir"))
    with open(os.path.join(folder, "afile"), "w") as fp:
        fp.write("not a folder\n")
    os.symlink("/dev/null", os.path.join(folder, "devnull"))
    os.symlink("/dev/full", os.path.join(folder, "devfull"))
    for name, minor in (("nodenull", 3), ("nodefull", 7)):
        try:
            os.mknod(os.path.join(folder, name), 0o666 | stat.S_IFCHR, os.makedev(1, minor))
        except OSError:                      # not root: a symlink stands in for the device node
            os.symlink("/dev/" + name[4:], os.path.join(folder, name))
    os.mkfifo(os.path.join(folder, "fifo"))
    if case.model_bytes is not None:
        with open(os.path.join(folder, case.model_name), "wb") as fp:
            fp.write(case.model_bytes)


def limits_for(sanitized, address_limit):
    def pre():
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if not sanitized:   # AddressSanitizer reserves terabytes of address space; it gets an RSS bound instead
            limit = (address_limit or 4096) << 20
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return pre


def case_argv(case, sanitized):
    if sanitized and case.address_limit:
        return case.argv + ["--memory-limit", "%dM" % min(case.address_limit, 300)]
    return case.argv


def run_case(qsync, case, folder, timeout, sanitized):
    env = dict(os.environ)
    if sanitized:
        env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":hard_rss_limit_mb=4000").lstrip(":")
    argv = [qsync] + case_argv(case, sanitized)
    t0 = time.monotonic()
    p = subprocess.Popen(argv, cwd=folder, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, start_new_session=True,
                         preexec_fn=limits_for(sanitized, case.address_limit))
    try:
        out, err = p.communicate(timeout=timeout)
        hung = False
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        hung = True
    try:                                      # anything the case left running (gnuplot) goes too
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return p.returncode, hung, err.decode("utf-8", "surrogateescape"), time.monotonic() - t0


def judge(case, rc, hung, err, folder):
    """The reasons a case fails (empty: it passes)."""
    why = []
    if hung:
        return ["hang (no exit within the timeout)"]
    if rc < 0:
        why.append("killed by signal %s" % signal.Signals(-rc).name)
    elif rc not in ALLOWED_EXIT:
        why.append("exit status %d outside {0,1,2,3,4}" % rc)
    for mark in SANITIZER_MARKS:
        if mark in err:
            why.append("sanitizer report (%s)" % mark)
            break
    if rc == 2:
        named = [n for n in case.names if n and (n in err or len(n) > 100 and n[:100] in err)]
        # a refusal of how two flags of the command line combine names those flags instead
        named += [a for a in case.argv if isinstance(a, str) and re.fullmatch(r"--[a-z][a-z-]*", a) and
                  re.search(re.escape(a) + r"\b", err)]
        if not named:
            why.append("exit 2 without naming %s on stderr" % " or ".join(repr(n) for n in case.names))
        elif case.line_required:
            name = re.escape(case.model_name)
            # a line, or (for what no single line causes) the oscillator whose parameters do
            if not re.search(name + r"(:\d+|: no \[oscillator|: oscillator )", err):
                why.append("exit 2 naming %r without a line" % case.model_name)
    if case.canary and os.path.exists(os.path.join(folder, "PWNED")):
        why.append("an output path ran a shell command")
    for name in ("devnull", "devfull", "nodenull", "nodefull"):
        st = os.lstat(os.path.join(folder, name)) if os.path.lexists(os.path.join(folder, name)) else None
        if st is None or not (stat.S_ISLNK(st.st_mode) or stat.S_ISCHR(st.st_mode)):
            why.append("output %s (a symlink or device node) replaced by a regular file" % name)
    return why


def signature(case, why, err):
    """A failure class: the reason, the command, and where a sanitizer or the message points."""
    head = why[0].split(" (")[0] if why[0].startswith(("hang", "sanitizer")) else why[0]
    if "exit 2 without naming" in head:
        head = "exit 2 without naming the flag or file"
    if "replaced by a regular file" in head:
        head = "an output symlink or device node replaced by a regular file"
    if "exit 2 naming" in head:
        head = "exit 2 naming the model file without a line"
    detail = ""
    m = re.search(r"([\w/.-]+\.c:\d+:\d+: runtime error: [^0-9'\n]*)", err)
    if m:
        detail = re.sub(r".*/src/", "src/", m.group(1)).strip()
    else:
        m = re.search(r"ERROR: (AddressSanitizer|LeakSanitizer): ([\w-]+)", err)
        if m:
            frames = [f for f in re.findall(r"#\d+ 0x[0-9a-f]+ in (\w+) ([^\s]+)", err) if "libsanitizer" not in f[1]]
            where = (frames[0][0] + " " + re.sub(r".*/(src/|lib/)", r"\1", frames[0][1])) if frames else ""
            detail = "%s %s in %s" % (m.group(1), m.group(2), where)
    if not detail and first_message(err):
        detail = re.sub(r"'[^']*'|\d+(\.\d+)?(e[-+]?\d+)?", "#", first_message(err))[:90]
    if head.startswith(("an output", "exit status")) or "signal" in head:   # the flag or mutation, not the message
        detail = re.sub(r"'[^']*'", "V", case.what)[:60] if case.kind != "model" else ""
    if head.startswith("hang"):
        detail = case.what.split(":")[0] if case.kind == "model" else re.sub(r"'[^']*'", "V", case.what)[:60]
    if case.address_limit:
        detail = "a model under ulimit -v"
    return "%s | %s | %s" % (head, case.argv[0], detail)


def first_message(err):
    lines = [l for l in err.splitlines() if l.startswith("qsync")]
    return lines[0] if lines else ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("qsync")
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=20, help="seconds per case; longer is a hang")
    ap.add_argument("--max-time", type=float, default=900, help="seconds for the whole run")
    ap.add_argument("--keep", default="fuzz-failures", help="folder for the failing cases' files")
    ap.add_argument("--verbose", action="store_true", help="also print a PASS line per case")
    args = ap.parse_args()
    sys.stdout.reconfigure(errors="backslashreplace")
    qsync = os.path.abspath(args.qsync)
    with open(qsync, "rb") as fp:
        sanitized = b"__asan_init" in fp.read()
    models = load_models()
    rng = random.Random(args.seed)
    scratch = tempfile.mkdtemp(prefix="qsync-fuzz-")
    keep = os.path.abspath(args.keep)
    if os.path.isdir(keep):                  # the failures of an earlier run go; nothing else in the folder
        for old in os.listdir(keep):
            if re.fullmatch(r"case-\d{5}", old):
                shutil.rmtree(os.path.join(keep, old), ignore_errors=True)
    passed = failed = 0
    classes = {}
    t_start = time.monotonic()
    try:
        for i in range(args.count):
            case = generate(rng, models)
            if time.monotonic() - t_start > args.max_time:
                print("note: wall-time bound of %g s reached: %d of %d cases run" % (args.max_time, i, args.count))
                break
            folder = os.path.join(scratch, "case-%05d" % i)
            os.makedirs(folder)
            prepare(folder, case)
            rc, hung, err, dt = run_case(qsync, case, folder, args.timeout, sanitized)
            why = judge(case, rc, hung, err, folder)
            repro = " ".join(fmt_arg(a) for a in ["qsync"] + case_argv(case, sanitized))
            if case.address_limit and not sanitized:
                repro = "(ulimit -v %d; %s)" % (case.address_limit << 10, repro)
            if why:
                failed += 1
                dest = os.path.join(keep, "case-%05d" % i)
                shutil.rmtree(dest, ignore_errors=True)
                os.makedirs(keep, exist_ok=True)
                shutil.move(folder, dest)
                with open(os.path.join(dest, "repro.txt"), "w", encoding="utf-8", errors="surrogateescape") as fp:
                    fp.write("cd %s && %s\n# %s\n# exit %s\n%s" % (dest, repro, case.what, rc, err[-4000:]))
                first = next((l for l in err.splitlines() if l.strip()), "")[:200]
                print("FAIL: case %d [%s] %s: %s; in %s: %s; stderr: %s"
                      % (i, case.kind, case.what, ", ".join(why), dest, repro, first))
                sig = signature(case, why, err)
                if sig not in classes:
                    classes[sig] = (i, dest, repro, case.what)
            else:
                passed += 1
                if args.verbose:
                    print("PASS: case %d [%s] %s: exit %d in %.2f s" % (i, case.kind, case.what, rc, dt))
                shutil.rmtree(folder, ignore_errors=True)
            sys.stdout.flush()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if classes:
        print("distinct failure classes: %d (one reproducer each; the case folders hold the model files)" % len(classes))
        for sig, (i, dest, repro, what) in sorted(classes.items()):
            print("  %s\n    case %d (%s): cd %s && %s" % (sig, i, what, dest, repro))
    print("%d cases in %.0f s (seed %d, %s build)" % (passed + failed, time.monotonic() - t_start, args.seed,
                                                      "sanitizer" if sanitized else "plain"))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
