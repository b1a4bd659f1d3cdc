#!/usr/bin/env python3
"""Every qsync command of README.md, run as written: the README may not lie.

Usage: readme.py QSYNC REPO   (QSYNC the program under test, REPO the folder of README.md)

What runs. The README is parsed, never copied here: inside every ``` block (but one whose
info string is `c`), each line, backslash continuations joined, that starts with
`build/qsync`, `$ build/qsync` or `qsync` is a command. Lines of the blocks that start
otherwise are example output, model-file text or other programs and are not run; of those,
the script names (as "note:" lines, not checks) the ones it leaves out on purpose:
  - `make ...`: installs Debian packages and runs the whole suite (this test is part of it);
  - `mpirun`, `srun`, `#SBATCH`, `#!`: need an MPI launcher or a Slurm cluster (tests/mpi.sh
    covers MPI runs);
  - ```c blocks: the library snippet is C to be compiled, not a command.

Where. All commands run in order in one scratch folder laid out as the repository: a copy
of `examples/`, `build/qsync` a link to QSYNC, and QSYNC first on PATH as `qsync`. So
relative paths resolve as for a reader in a fresh clone, and outputs land in the scratch
folder (deleted at the end).

The one shortcut, for time: `--coarse` (the README's own "a third of the points on every
axis") is appended to every `qsync figure` command that lacks it. Nothing else is changed.
Words are split as the shell would (shlex) and run without a shell: no variables, pipes or
redirections, which no command of the README needs.

Checks, one PASS/FAIL line each:
  - every command exits 0, or N when its line ends in a comment saying `exit N` (or
    `exits N`), e.g. `build/qsync steady bad.ini   # exits 2`;
  - no command changes or deletes a file that an earlier command wrote or that was part of
    the repository copy (the README's examples must not overwrite each other's results);
  - at least one command was found.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

from checks import check, finish

QSYNC, REPO = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
TIMEOUT = 900  # seconds per command: a hang is a failure, not a stuck test

SKIP_PREFIXES = {
    "make": "installs packages and runs the whole suite",
    "mpirun": "needs an MPI launcher (tests/mpi.sh covers MPI runs)",
    "srun": "needs a Slurm cluster",
    "#SBATCH": "a Slurm batch directive",
    "#!": "a batch script's interpreter line",
}


def readme_commands(path):
    """(line number, text) of every command; prints a note for every line left out on purpose."""
    commands, block, info, pending, start = [], False, "", "", 0
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for number, line in enumerate(lines, 1):
        fence = re.match(r"^\s*```(.*)$", line)
        if fence:
            if block and pending:
                print(f"note: README.md:{start}: a continued line ends the block; run as it stands")
                commands.append((start, pending))
                pending = ""
            block, info = not block, fence.group(1).strip().lower()
            if block and info == "c":
                print(f"note: README.md:{number}: ```c block left out (C to compile, not a command)")
            continue
        if not block or info == "c":
            continue
        text = line.strip()
        if pending:
            pending += " " + text
        else:
            pending, start = text, number
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        text, pending = pending, ""
        if text.startswith("$ "):
            text = text[2:].lstrip()
        first = text.split(maxsplit=1)[0] if text else ""
        if first in ("build/qsync", "qsync"):
            commands.append((start, text))
            continue
        for prefix, why in SKIP_PREFIXES.items():
            if first.startswith(prefix):
                print(f"note: README.md:{start}: not run ({why}): {text[:100]}")
    return commands


def expected_status(text):
    m = re.search(r"#.*\bexits?\s+(\d+)\b", text)
    return int(m.group(1)) if m else 0


def argv_of(text):
    words = shlex.split(text, comments=True)
    if len(words) > 1 and words[1] == "figure" and "--coarse" not in words:
        words.append("--coarse")
    return words


def snapshot(root):
    """relative path -> (inode, size, mtime) of every file under root."""
    files = {}
    for folder, _, names in os.walk(root):
        for name in names:
            p = os.path.join(folder, name)
            st = os.lstat(p)
            files[os.path.relpath(p, root)] = (st.st_ino, st.st_size, st.st_mtime_ns)
    return files


def main():
    commands = readme_commands(os.path.join(REPO, "README.md"))
    check("README.md holds qsync commands to run", len(commands) > 0, f"{len(commands)} found")
    scratch = tempfile.mkdtemp(prefix="qsync-readme-")
    try:
        shutil.copytree(os.path.join(REPO, "examples"), os.path.join(scratch, "examples"))
        os.mkdir(os.path.join(scratch, "build"))
        os.symlink(QSYNC, os.path.join(scratch, "build", "qsync"))
        bindir = tempfile.mkdtemp(prefix="qsync-readme-bin-")
        os.symlink(QSYNC, os.path.join(bindir, "qsync"))
        env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
        owner = {p: "the repository copy" for p in snapshot(scratch)}
        for number, text in commands:
            argv = argv_of(text)
            shown = shlex.join(argv)
            want = expected_status(text)
            before = snapshot(scratch)
            t0 = time.monotonic()
            try:
                r = subprocess.run(argv, cwd=scratch, env=env, capture_output=True, text=True,
                                   errors="replace", timeout=TIMEOUT)
                status, err = r.returncode, r.stderr.strip().splitlines()
            except subprocess.TimeoutExpired:
                status, err = "timeout", [f"no exit after {TIMEOUT} s"]
            except OSError as e:
                status, err = "not started", [str(e)]
            detail = f"exit {status}, {time.monotonic() - t0:.1f} s" + (f"; stderr: {' | '.join(err[-3:])[:400]}" if status != want else "")
            check(f"README.md:{number}: {shown} exits {want}", status == want, detail)
            after = snapshot(scratch)
            clobbered = [p for p in before if p in owner and (p not in after or after[p] != before[p])]
            check(f"README.md:{number}: {shown} leaves earlier outputs alone", not clobbered,
                  "; ".join(f"{p} ({'deleted' if p not in after else 'rewritten'}; from {owner[p]})"
                            for p in clobbered[:6]) + (f"; and {len(clobbered) - 6} more" if len(clobbered) > 6 else ""))
            for p in after:
                if p not in before or after[p] != before[p]:
                    owner[p] = f"README.md:{number}"
        shutil.rmtree(bindir, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    finish()


main()
