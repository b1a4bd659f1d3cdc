#!/usr/bin/env python3
"""Every gnuplot script names the columns it draws, and every legend entry names the column
it draws.

Reusable on any .gp + .csv pair (figure.gp, sweep.gp):
    plot_legend.py --check SCRIPT.gp DATA.csv     checks of that one pair
    plot_legend.py --check SCRIPT.gp              checks against every data file the script
                                                  names (paths from the script's folder)
    plot_legend.py QSYNC                          every `qsync figure` (--points 2 --levels 3,
                                                  seconds), and scripts that must fail
From Python: `problems(gp_text, header)` returns a list of (what, ok, detail); header is one
CSV header (every clause reads it) or {file name: header} (each clause the file it names,
'' the previous clause's).

What is checked, for every `plot` clause that reads a data file:
  - every column is referred to by its header name ('S_A-B', column('S_A-B'),
    columnhead('S_A-B')), never by number ($3, 1:3, column(3), column(i)), and that name is
    in the CSV's header;
  - a clause with a legend entry (title ...) names, first among the header names its title
    mentions, a column of the element it draws (y; the colour of `with image`; both bounds of
    `filledcurves`); `title columnhead` with no argument names the drawn column itself;
  - an image drawn with `notitle` is named the same way by its colour-bar label (`set
    cblabel`) or, when that names no column (such as 'S'), by the current `set title`.
`for [VAR in "a b"]` loops are expanded (VAR replaced by each word, quoted), so a script may
loop over column names.
"""
import csv
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, finish  # noqa: E402

FIGURES = ("2a", "2b", "3a", "3b", "3c", "3d", "4a", "4b", "4c", "4d", "spectra", "tongue", "ring4", "ring6", "ring8")
STOP = {"using", "u", "title", "t", "notitle", "with", "w", "every", "smooth", "axes", "index",
        "lc", "lt", "lw", "dt", "pt", "ps", "linecolor", "linewidth", "fs", "fc"}


def split_top(text, seps):
    """text split at characters in seps outside quotes, (), [] and {}"""
    out, depth, quote, cur = [], 0, None, ""
    for ch in text:
        if quote:
            cur += ch
            if ch == quote:
                quote = None
            continue
        if ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if depth == 0 and ch in seps:
            out.append(cur)
            cur = ""
            continue
        cur += ch
    out.append(cur)
    return out


def strip_comment(line):
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#":
            return line[:i]
    return line


def commands(gp_text):
    """the script's commands: continuations joined, comments dropped, split at top-level ';'"""
    text = re.sub(r"\\\n", " ", gp_text)
    for line in text.split("\n"):
        for cmd in split_top(strip_comment(line), ";"):
            if cmd.strip():
                yield cmd.strip()


def strings(expr):
    """the string literals in an expression, in order"""
    return [m.group(2) for m in re.finditer(r"(['\"])(.*?)\1", expr)]


def column_refs(expr):
    """(names, numbered) referred to by an expression: column('x'), columnhead('x'),
    stringcolumn('x'), valid('x'); numbered lists the references by number or variable"""
    names, numbered = [], []
    for m in re.finditer(r"\b(column|columnhead|columnheader|stringcolumn|strcol|valid)\s*\(\s*([^()]*?)\s*\)", expr):
        arg = m.group(2)
        lit = re.fullmatch(r"(['\"])(.*)\1", arg)
        if lit:
            names.append(lit.group(2))
        elif arg or m.group(1) == "column":
            numbered.append(m.group(0))
    numbered += re.findall(r"\$\d+|\$\(", expr)
    return names, numbered


def expand_for(clause):
    """a clause with `for [VAR in "w1 w2"]` as one clause per word (VAR -> 'word')"""
    m = re.match(r"\s*for\s*\[\s*(\w+)\s+in\s+(['\"])(.*?)\2\s*\]\s*(.*)", clause, re.S)
    if not m:
        return [clause]
    var, words, rest = m.group(1), m.group(3).split(), m.group(4)
    return [x for w in words for x in expand_for(re.sub(rf"(?<![\w'\".]){var}(?![\w'\"])", f"'{w}'", rest))]


def mentioned(text, header):
    """header names in text, by position (a name must not be part of a longer word)"""
    found = []
    for name in header:
        for m in re.finditer(re.escape(name), text):
            before = text[m.start() - 1] if m.start() > 0 else " "
            after = text[m.end()] if m.end() < len(text) else " "
            if not re.match(r"[\w.]", before) and not re.match(r"[\w]", after) and not (after == "-" and m.end() + 1 < len(text) and text[m.end() + 1].isalnum()):
                found.append((m.start(), -len(name), name))
    return [n for _, _, n in sorted(found)]


def element_refs(el):
    """(names, numbered) of one element of a using spec"""
    el = el.strip()
    lit = re.fullmatch(r"(['\"])(.*)\1", el)
    if lit:
        return [lit.group(2)], []
    if re.fullmatch(r"\d+", el):
        return [], [f"column {el}"]
    if re.fullmatch(r"\w+", el):                 # a bare variable: a column number
        return [], [f"column {el}"]
    return column_refs(el)


def problems(gp_text, header, where="plot"):
    """list of (what, ok, detail) for a gnuplot script against a CSV header, or against the
    headers of the files it reads ({file name: header})"""
    out = []
    headers = header if isinstance(header, dict) else None
    current = None
    labels = {"cblabel": "", "title": ""}
    n_clauses = 0
    for cmd in commands(gp_text):
        m = re.match(r"set\s+(cblabel|title)\s+(.*)", cmd)
        if m:
            labels[m.group(1)] = " ".join(strings(m.group(2))) if strings(m.group(2)) else m.group(2)
            continue
        m = re.match(r"unset\s+(cblabel|title)\b", cmd)
        if m:
            labels[m.group(1)] = ""
            continue
        if re.match(r"\w+\s*\([\w\s,]*\)\s*=", cmd):        # a function definition
            names, numbered = column_refs(cmd)
            known = set().union(*headers.values()) if headers is not None else header
            for n in names:
                out.append((f"{where}: function {cmd.split('(')[0]} refers to column '{n}', a header name", n in known,
                            "" if n in known else f"header: {header}"))
            if numbered:
                out.append((f"{where}: function {cmd.split('(')[0]} refers to columns by name only", False, ", ".join(numbered)))
            continue
        m = re.match(r"(?:plot|p|replot)\s+(.*)", cmd)
        if not m:
            continue
        body = m.group(1)
        body = re.sub(r"^\s*(\[[^\]]*\]\s*)+", "", body)             # ranges
        for raw in split_top(body, ","):
            for clause in expand_for(raw.strip()):
                clause = re.sub(r"^\s*for\s*\[[^\]]*\]\s*", "", clause)
                toks = [t for t in split_top(clause.strip(), " \t") if t]
                if not toks or not re.fullmatch(r"(['\"]).*\1", toks[0]):
                    continue                                        # a function: no columns
                n_clauses += 1
                label = f"{where}: {clause[:90]}{'...' if len(clause) > 90 else ''}"
                current = toks[0][1:-1] or current
                if headers is not None:
                    if current not in headers:
                        out.append((f"{label}: its data file is known", False, f"{current} is none of {sorted(headers)}"))
                        continue
                    header = headers[current]
                spec, style, title = None, "", None
                for i, t in enumerate(toks):
                    if t in ("using", "u") and i + 1 < len(toks):
                        spec = toks[i + 1]
                    elif t in ("with", "w") and i + 1 < len(toks):
                        style = toks[i + 1]
                    elif t in ("title", "t") and i + 1 < len(toks):
                        title = toks[i + 1]
                    elif t == "notitle":
                        title = ""
                if spec is None:
                    out.append((f"{label}: columns given by `using`", False, "no using: gnuplot draws columns by number"))
                    continue
                elements = split_top(spec, ":")
                refs = [element_refs(e) for e in elements]
                numbered = [n for _, nums in refs for n in nums]
                names = [n for ns, _ in refs for n in ns]
                for t in toks:
                    if t.startswith("(") or "column" in t:
                        ns, nums = column_refs(t)
                        names += ns
                        numbered += [x for x in nums if x not in numbered]
                out.append((f"{label}: every column by its header name", not numbered, ", ".join(sorted(set(numbered)))))
                unknown = sorted(set(n for n in names if n not in header))
                out.append((f"{label}: every column named is in the CSV header", not unknown,
                            f"not in the header: {unknown}; header: {header}" if unknown else ""))
                if style.startswith("image"):
                    drawn = refs[2][0] if len(refs) > 2 else []
                elif style.startswith("filledcurves"):
                    drawn = [n for ns, _ in refs[1:] for n in ns]
                else:
                    drawn = refs[1][0] if len(refs) > 1 else refs[0][0]
                if title is None and not style.startswith("image"):
                    out.append((f"{label}: legend entry set by title (or notitle)", False, "gnuplot would title it by its using spec"))
                elif title:
                    if re.fullmatch(r"column(head|header)", title):
                        ok = len(refs) > 1 and len(drawn) == 1 and re.fullmatch(r"(['\"]).*\1", elements[1].strip()) is not None
                        out.append((f"{label}: legend (columnhead) names the column drawn", ok, f"drawn {drawn}"))
                        continue
                    ns, nums = column_refs(title)
                    text = " ".join(ns) if ns else " ".join(strings(title))
                    said = mentioned(text, header)
                    ok = bool(said) and said[0] in drawn and not nums
                    out.append((f"{label}: legend '{text}' names the column drawn", ok,
                                f"legend names {said[:1] or 'no column'}, the curve draws {drawn}"))
                elif style.startswith("image"):
                    said = mentioned(labels["cblabel"], header) or mentioned(labels["title"], header)
                    ok = bool(said) and said[0] in drawn
                    out.append((f"{label}: colour-bar label or title names the column drawn", ok,
                                f"cblabel '{labels['cblabel']}', title '{labels['title']}', drawn {drawn}"))
    if n_clauses == 0:
        out.append((f"{where}: the script plots data from a file", False, "no data clause found"))
    return out


def header_of(csv_path):
    with open(csv_path, newline="") as f:
        return next(csv.reader(f))


def data_files(gp_text):
    """the data files named by the script's plot clauses, in order, each once"""
    files = []
    for cmd in commands(gp_text):
        m = re.match(r"(?:plot|p|replot)\s+(.*)", cmd)
        if not m:
            continue
        for raw in split_top(re.sub(r"^\s*(\[[^\]]*\]\s*)+", "", m.group(1)), ","):
            clause = re.sub(r"^\s*for\s*\[[^\]]*\]\s*", "", raw.strip())
            toks = [t for t in split_top(clause.strip(), " \t") if t]
            if toks and re.fullmatch(r"(['\"]).+\1", toks[0]) and toks[0][1:-1] not in files:
                files.append(toks[0][1:-1])
    return files


def check_script(gp_path, where=None):
    """check_pair against every data file the script reads (paths from its folder); a file
    that is missing fails. Returns the number failed."""
    text = open(gp_path).read()
    folder = os.path.dirname(os.path.abspath(gp_path))
    headers, failed = {}, 0
    for name in data_files(text):
        path = os.path.join(folder, name)
        ok = os.path.isfile(path)
        check(f"{where or os.path.basename(gp_path)}: data file {name} written", ok, path)
        failed += not ok
        if ok:
            headers[name] = header_of(path)
    for what, ok, detail in problems(text, headers, where or os.path.basename(gp_path)):
        check(what, ok, detail)
        failed += not ok
    return failed


def check_pair(gp_path, csv_path, where=None):
    """one PASS/FAIL line per check of a .gp against its .csv; returns the number failed"""
    failed = 0
    for what, ok, detail in problems(open(gp_path).read(), header_of(csv_path), where or os.path.basename(gp_path)):
        check(what, ok, detail)
        failed += not ok
    return failed


def expect_failure(name, gp_text, header):
    bad = [w for w, ok, _ in problems(gp_text, header, name) if not ok]
    check(f"the checker rejects {name}", bool(bad), "; ".join(bad[:2]) if bad else "every check passed")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--check":
        check_pair(sys.argv[2], sys.argv[3])
        finish()
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check_script(sys.argv[2])
        finish()
    QSYNC = sys.argv[1]
    ring4 = ["B.omega", "S_A-B", "S_A-A2", "S_A-B2", "S_B-A2", "S_B-B2", "S_A2-B2", "residual", "top_population", "status"]
    # the checker itself: scripts that must fail
    expect_failure("ring4's old script (columns 3, 4, 7 under the titles S_A-B, S_A-A2, S_B-B2)",
                   "plot 'sweep.csv' using 1:3 with lines lw 2 title 'S_A-B (neighbours)', '' using 1:4 with lines lw 2 "
                   "title 'S_A-A2 (identical)', '' using 1:7 with lines lw 2 title 'S_B-B2 (identical)'\n", ring4)
    expect_failure("a named column under another column's title",
                   "plot 'sweep.csv' using 'B.omega':'S_A-A2' with lines title 'S_A-B (neighbours)'\n", ring4)
    expect_failure("a column that is not in the header", "plot 'sweep.csv' using 'B.omega':'S_A-C' with lines title 'S_A-C'\n", ring4)
    expect_failure("an image whose colour-bar label names another column",
                   "set cblabel 'S_A-B'\nplot 'sweep.csv' using 'B.omega':'S_A-B':'S_B-B2' with image notitle\n", ring4)
    expect_failure("a loop over column numbers titled by columnhead(i)",
                   "plot for [i=2:7] 'sweep.csv' using 1:i with lines title columnhead(i)\n", ring4)
    ok_text = ("set cblabel 'S'\nset title 'S_B-B2'\nplot 'sweep.csv' using 'B.omega':'S_A-B':'S_B-B2' with image notitle\n"
               "plot for [c in \"S_A-B S_A-A2\"] 'sweep.csv' using 'B.omega':c with lines title c\n")
    bad = [(w, d) for w, ok, d in problems(ok_text, ring4, "named loop") if not ok]
    check("the checker accepts a panel titled by its column and a `for [c in \"...\"]` loop over names", not bad, str(bad[:2]))
    # two files: each clause against the header of the file it reads ('' the previous one)
    two = {"a/sweep.csv": ["1.omega", "1-2", "beat_1-2"], "b/sweep.csv": ["1.omega", "1-2", "S_1-2"]}
    expect_failure("a column of one file read from another",
                   "set cblabel 'S_1-2'\nplot 'a/sweep.csv' using '1.omega':'1-2':'S_1-2' with image notitle\n", two)
    expect_failure("a file that is not among those written", "plot 'c/sweep.csv' using '1.omega':'S_1-2' with lines title 'S_1-2'\n", two)
    two_text = ("set cblabel '|beat_1-2|'\nplot 'a/sweep.csv' using '1.omega':'1-2':(abs(column('beat_1-2'))) with image notitle\n"
                "plot 'b/sweep.csv' using '1.omega':'S_1-2' with lines title 'S_1-2', '' using '1.omega':'1-2' with lines title '1-2'\n")
    bad = [(w, d) for w, ok, d in problems(two_text, two, "two files") if not ok]
    check("the checker reads each clause's columns from its own file ('' the previous one)", not bad, str(bad[:2]))
    check("the checker finds the files a script reads", data_files(two_text) == ["a/sweep.csv", "b/sweep.csv"],
          str(data_files(two_text)))

    with tempfile.TemporaryDirectory() as out:
        for name in FIGURES:
            r = subprocess.run([QSYNC, "figure", name, "--out", out, "--points", "2", "--levels", "3"], capture_output=True, text=True)
            check(f"figure {name} --points 2 --levels 3 exits 0", r.returncode == 0, "" if r.returncode == 0 else r.stderr[-300:])
            d = os.path.join(out, name)
            if not os.path.exists(os.path.join(d, "figure.gp")):
                check(f"figure {name}: figure.gp written", False)
                continue
            check(f"figure {name}: figure.png drawn without a gnuplot message", os.path.exists(os.path.join(d, "figure.png"))
                  and os.path.getsize(os.path.join(d, "figure.png")) > 0
                  and "gnuplot:" not in r.stderr, "" if "gnuplot:" not in r.stderr else r.stderr[-300:])
            check_script(os.path.join(d, "figure.gp"), f"figure {name}")
    finish()
