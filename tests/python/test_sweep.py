"""Model.sweep against `qsync sweep --observe ...` (sweep.csv, column by column, bit for bit),
its checks of the axes, and Ctrl-C (SIGINT to a process running a long sweep)."""
import csv
import ctypes
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

import qsync


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def same_text(value, text):
    """A DataFrame value against sweep.csv's text: %.17g reads back exactly (==); the residual
    and top_population are printed with %.6e and compared as printed."""
    if isinstance(value, str):
        return value == text
    if text == "nan":
        return math.isnan(value)
    if "e" in text and len(text.split("e")[0]) == 8:    # %.6e
        return f"{value:.6e}" == text
    return value == float(text)


CASES = [
    ("examples/fig2b.ini", ["--vary", "1.omega=-40:40:41"], {"1.omega": np.linspace(-40, 40, 41)},
     "S,negativity,mean_n,populations", {}),
    ("tests/models/peer_three.ini", ["--vary", "A.omega=0:20:5", "--vary", "A-B=0.05,0.1+0.05i"],
     {"A.omega": np.linspace(0, 20, 5), "A-B": [0.05, 0.1 + 0.05j]}, "S,phi_max,S_Q,correlation_phase,mutual_information",
     {}),
    ("examples/fig2b.ini", ["--vary", "sigma=0.2:0.4:6", "--tie", "K=2/sigma"], {"sigma": qsync.Range(0.2, 0.4, 6)},
     "S,log_negativity,var_n", {"K": "2/sigma"}),
]


@pytest.mark.parametrize("model,flags,vary,observe,ties", CASES)
def test_sweep_is_the_command_lines(root, cli, tmp_path, model, flags, vary, observe, ties):
    path = root / model
    args = [cli, "sweep", str(path), *flags, "--observe", observe, "--out", str(tmp_path / "out"), "--no-plot",
            "--progress-interval", "0"]
    out = subprocess.run(args, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    header, rows = read_csv(tmp_path / "out" / "sweep.csv")
    df = qsync.Model.load(path).sweep(vary=vary, ties=ties, observe=observe.split(","))
    # a complex axis is one field a+bi in sweep.csv, two columns NAME and NAME_im in the DataFrame
    expected = [c for h in header for c in ([h, h + "_im"] if h + "_im" in df.columns else [h])]
    assert list(df.columns) == expected
    assert len(df) == len(rows) > 0
    for j, name in enumerate(header):
        if name + "_im" in df.columns:
            z = [complex(r[j].replace("i", "j")) for r in rows]
            assert df[name].tolist() == [x.real for x in z] and df[name + "_im"].tolist() == [x.imag for x in z]
            assert any(x.imag != 0 for x in z)
            continue
        column = df[name].tolist()
        bad = [(i, v, r[j]) for i, (v, r) in enumerate(zip(column, rows)) if not same_text(v, r[j])]
        assert not bad, (name, bad[:3])


def test_sweep_threads_and_blocks_do_not_change_numbers(root):
    m = qsync.Model.load(root / "examples/fig2b.ini")
    vary = {"1.omega": np.linspace(-30, 30, 37)}
    a = m.sweep(vary=vary, observe=["S", "negativity"], threads=1)
    b = m.sweep(vary=vary, observe=["S", "negativity"], threads=2)
    assert a.equals(b)
    # the curve has the resonance of Fig. 2b: S largest near Δ = ±2K = ±20 (not at Δ = 0)
    top = a["1.omega"][a["S_1-2"].idxmax()]
    assert abs(abs(top) - 20) <= 2


def test_sweep_bad_input(root):
    m = qsync.Model.load(root / "examples/fig2b.ini")
    with pytest.raises(qsync.InputError, match="3.omega"):
        m.sweep(vary={"3.omega": [0, 1]})
    with pytest.raises(qsync.InputError, match="unknown observable 'bogus'"):
        m.sweep(vary={"1.omega": [0, 1]}, observe=["bogus"])
    with pytest.raises(qsync.InputError, match="finite"):
        m.sweep(vary={"1.omega": [0, float("nan")]})
    with pytest.raises(qsync.InputError, match="vary"):
        m.sweep(vary={})
    with pytest.raises(qsync.InputError):
        m.sweep(vary={"1.omega": [0, 1]}, ties={"K": "1/"})
    with pytest.raises(qsync.InputError, match="count"):
        m.sweep(vary={"1.omega": qsync.Range(0, 1, 0)})
    # a point refused for memory fails alone: NaN and its status word
    with pytest.warns(qsync.FailedPointsWarning, match=r"2 of 2 points failed \(2 memory\)"):
        df = m.sweep(vary={"1.omega": [0, 1]}, memory_limit=1000)
    assert df["status"].tolist() == ["memory", "memory"] and df["S_1-2"].isna().all()


CHILD = textwrap.dedent("""
    import sys, threading, time
    import numpy as np
    import qsync
    m = qsync.Model.load(sys.argv[1]).set("levels", 12)
    print("start", flush=True)
    t0 = time.monotonic()
    try:
        m.sweep(vary={"1.omega": np.linspace(-40, 40, 20000)}, truncation_check=False)
        print("finished", time.monotonic() - t0, flush=True)
    except KeyboardInterrupt:
        print("KeyboardInterrupt", time.monotonic() - t0, threading.active_count(), flush=True)
        # the package is usable after an interrupted sweep
        df = m.sweep(vary={"1.omega": [0.0, 20.0]})
        print("again", len(df), flush=True)
""")


def test_ctrl_c_stops_a_sweep(root, tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    p = subprocess.Popen([sys.executable, str(script), str(root / "examples/fig2b.ini")], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    assert p.stdout.readline().strip() == "start"
    time.sleep(1.5)                       # inside the sweep (20000 points take far longer)
    sent = time.monotonic()
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    took = time.monotonic() - sent
    assert p.returncode == 0, err
    lines = out.splitlines()
    assert lines[0].split()[0] == "KeyboardInterrupt", out
    assert lines[0].split()[2] == "1", "the sweep's thread has ended"
    assert lines[1] == "again 2"
    assert took < 10, f"{took:.1f} s from SIGINT to the end"


def blas_threads():
    """OpenBLAS's thread count getter and setter from the library's process"""
    get = getattr(qsync._lib.lib, "openblas_get_num_threads", None)
    assert get is not None, "the library is linked with OpenBLAS (its thread count is set around sweeps)"
    get.restype = ctypes.c_int
    setter = qsync._lib.lib.openblas_set_num_threads
    setter.argtypes = [ctypes.c_int]
    return get, setter


def test_openblas_threads_restored(root):
    get, setter = blas_threads()
    before = get()
    try:
        setter(2)
        qsync.Model.load(root / "examples/fig2b.ini").sweep(vary={"1.omega": [0.0, 20.0]})
        assert get() == 2
    finally:
        setter(before)


def test_openblas_threads_restored_after_the_blocks(root):
    """GMRES with the block preconditioner runs BLAS on one thread (its idle threads' spinning
    took the cores from OpenMP's) and gives the count back: 2 before and after, and the same
    numbers as the command line's."""
    get, setter = blas_threads()
    before = get()
    try:
        setter(2)
        m = qsync.Model.load(root / "examples/fig4.ini")
        r = m.steady(solver="iterative", preconditioner="block", truncation_check=False)
        assert r.stats["preconditioner"] == 1 and r.stats["iterations"] > 0   # QS_PRECOND_BLOCK
        assert get() == 2
    finally:
        setter(before)


def test_failed_points_warn(root):
    """Points that fail keep NaN and their status word, and the sweep says how many failed (the
    command line exits 3 and prints the count); a sweep without failures says nothing."""
    m = qsync.Model.load(root / "examples/fig2b.ini")
    with pytest.warns(qsync.FailedPointsWarning, match=r"5 of 5 points failed \(5 numerical\)"):
        df = m.sweep(vary={"1.omega": qsync.Range(0, 40, 5)}, solver="direct", residual_tol=1e-30, truncation_check=False)
    assert list(df["status"]) == ["numerical"] * 5 and df["S_1-2"].isna().all()
    with warnings.catch_warnings():
        warnings.simplefilter("error", qsync.FailedPointsWarning)
        df = m.sweep(vary={"1.omega": qsync.Range(0, 40, 5)}, truncation_check=False)
    assert (df["status"] != "numerical").all() and df["S_1-2"].notna().all()
