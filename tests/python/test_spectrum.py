"""Model.spectrum, the dynamical observables of Model.steady and sweep(observe=, spectrum=)
against the command line (qsync spectrum --json, steady --json, sweep's CSVs), bit for bit."""
import csv
import math
import subprocess

import numpy as np
import pytest

import qsync

MODELS = ["examples/fig2b.ini", "tests/models/peer_three.ini"]


def same(x, y):
    """Equal as doubles, bit for bit (NaN, printed null, equals NaN)."""
    if y is None:
        return isinstance(x, float) and math.isnan(x)
    return x == y


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def spectrum_cli(cli, *args):
    """qsync spectrum --json, or None when the program has no such command."""
    import json
    out = subprocess.run([cli, "spectrum", *map(str, args), "--json"], capture_output=True, text=True, check=False)
    if out.returncode != 0 and "unknown command" in out.stderr:
        return None
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.parametrize("model", MODELS)
def test_spectrum_is_the_command_lines(root, cli, model):
    path = str(root / model)
    sp = qsync.Model.load(path).spectrum(omega=(-30, 30, 301), lines=True)
    assert isinstance(sp, qsync.Spectrum) and sp.omega.shape == (301,)
    assert sp.omega[0] == -30 and sp.omega[-1] == 30
    js = spectrum_cli(cli, path, "--omega", "-30:30:301", "--lines")
    if js is None:
        pytest.skip("this qsync program has no spectrum command")
    assert [same(float(x), y) for x, y in zip(sp.omega, js["omega"])] == [True] * 301
    for o in js["oscillators"]:
        name = o["name"]
        assert all(same(float(x), y) for x, y in zip(sp.spectrum[name], o["spectrum"])), name
        for key in ("peak_frequency", "fwhm", "sum_rule"):
            assert same(getattr(sp, key)[name], o[key]), (name, key)
        assert sp.warnings[name] == o["warnings"], name
    assert list(sp.lines.columns[:2]) == ["frequency", "half_width"]
    assert len(sp.lines) == len(js["lines"])
    for (_, row), line in zip(sp.lines.iterrows(), js["lines"]):
        assert row["frequency"] == line["frequency"] and row["half_width"] == line["half_width"]
        for name, w in zip(sp.names, line["weights"]):
            assert row[f"weight_{name}"] == complex(w["re"], w["im"])


def test_spectrum_sum_rule_and_frame(root):
    m = qsync.Model.load(str(root / "examples/fig2b.ini"))
    sp = m.spectrum()
    r = m.steady()
    frame = sp.frame()
    assert list(frame.columns) == ["omega"] + [f"spectrum_{j}" for j in m.names]
    for j in m.names:
        assert sp.mean_n[j] == pytest.approx(r.mean_n[j], rel=1e-12)
        # the default range holds the lines whole, but for their Lorentzian tails
        assert sp.sum_rule[j] == pytest.approx(r.mean_n[j], rel=0.05)
        assert sp.peak_frequency[j] == r.peak_frequency[j] and sp.fwhm[j] == r.fwhm[j]
        assert sp.omega[0] <= sp.peak_frequency[j] <= sp.omega[-1]


def test_spectrum_refuses_bad_grids(root):
    m = qsync.Model.load(str(root / "examples/fig2b.ini"))
    for bad in ((1, -1, 10), (0, 1, 1), (0, 1, 2.5), (0, math.inf, 10), "0:1:10", (0, 1)):
        with pytest.raises(qsync.InputError, match="omega"):
            m.spectrum(omega=bad)
    with pytest.raises(qsync.InputError, match="lines"):
        m.spectrum(lines="yes")
    # the library's grid check: points not distinct at that magnitude; above QS_SPECTRUM_MAX_POINTS
    with pytest.raises(qsync.InputError, match="distinct"):
        m.spectrum(omega=(1, 1 + 2 ** -52, 3))
    with pytest.raises(qsync.InputError, match="1000000"):
        m.spectrum(omega=(0, 1, 1000001))


def test_steady_dynamics_keyword(root):
    m = qsync.Model.load(str(root / "examples/fig2b.ini"))
    r = m.steady(dynamics=False)
    assert "--no-dynamics" in r.dynamics_reason and math.isnan(r.relaxation_rate) and math.isnan(r.fwhm["1"])
    r = m.steady(dynamics=True)
    assert r.dynamics_reason is None and r.relaxation_rate > 0 and r.coherence_rate > 0
    with pytest.raises(qsync.InputError, match="dynamics"):
        m.steady(dynamics="no")


def test_sweep_dynamical_observables_and_spectra(root, cli, tmp_path):
    path = root / "examples/fig2b.ini"
    observe = "peak_frequency,fwhm,relaxation_rate,coherence_rate,S"
    out = tmp_path / "s"
    p = subprocess.run([cli, "sweep", str(path), "--vary", "1.omega=-10:10:5", "--observe", observe,
                        "--spectrum", "-40:30:71", "--out", str(out), "--no-plot"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    df = qsync.Model.load(str(path)).sweep(vary={"1.omega": qsync.Range(-10, 10, 5)}, observe=observe.split(","),
                                           spectrum=(-40, 30, 71))
    head, rows = read_csv(out / "sweep.csv")
    assert list(df.columns) == head
    for c, name in enumerate(head):
        if name in ("status", "residual", "top_population"):
            continue
        assert all(float(r[c]) == v or (math.isnan(v) and r[c] == "nan") for r, v in zip(rows, df[name])), name
    spectra = df.attrs["spectra"]
    head, rows = read_csv(out / "spectra.csv")
    assert list(spectra.columns) == head == ["1.omega", "omega", "spectrum_1", "spectrum_2"]
    assert len(rows) == len(spectra) == 5 * 71
    for c, name in enumerate(head):
        assert all(float(r[c]) == v for r, v in zip(rows, spectra[name])), name


def test_spectrum_notes_are_warnings(root):
    """Each note of Spectrum.warnings is also issued as a qsync.SpectrumWarning: a window of
    ±40 around Fig. 2b's lines holds 0.914 of <n> (the sum-rule note)."""
    m = qsync.Model.load(str(root / "examples/fig2b.ini"))
    m.set("1.omega", 0.0)
    with pytest.warns(qsync.SpectrumWarning, match="oscillator 1: the sum rule over the grid is 0.91") as caught:
        sp = m.spectrum(omega=(-40, 40, 801))
    issued = sorted(str(w.message) for w in caught if issubclass(w.category, qsync.SpectrumWarning))
    assert issued == sorted(f"{m.source}: oscillator {j}: {note}" for j in m.names for note in sp.warnings[j])
