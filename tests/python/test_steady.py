"""Model.steady against the command line (bit for bit) and the state against QuTiP."""
import math
import pydoc
import warnings

import numpy as np
import pytest

import qsync

MODELS = ["examples/fig2b.ini", "tests/models/peer_three.ini", "tests/models/peer_complex.ini"]


def same(x, y):
    """Equal as doubles, bit for bit (NaN, printed null, equals NaN)."""
    if y is None:
        return isinstance(x, float) and math.isnan(x)
    return x == y


@pytest.fixture(scope="module", params=MODELS)
def solved(request, root, run_json):
    path = str(root / request.param)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", qsync.TruncationWarning)
        r = qsync.Model.load(path).steady()
    return r, run_json("steady", path)


def test_every_observable_is_the_command_lines(solved):
    r, js = solved
    table = qsync.observables()
    assert len(table) >= 16
    assert {o["name"] for o in table if o["dynamical"]} == {"peak_frequency", "fwhm", "relaxation_rate", "coherence_rate"}
    assert (r.dynamics_reason is None) == js["dynamics"]["computed"]
    assert r.dynamics_reason in (None, js["dynamics"]["reason"])
    pairs = [(p["a"], p["b"]) for p in js["pairs"]]
    assert pairs == r.pairs
    for o in table:
        name, checked = o["name"], 0
        if o["kind"] == "pair":
            for p in js["pairs"]:
                assert name in p, f"qsync steady --json: pairs[] has no {name}"
                assert same(getattr(r, name)[p["a"], p["b"]], p[name]), (name, p["a"], p["b"])
                checked += 1
        elif o["kind"] == "network":
            assert name in js, f"qsync steady --json has no {name}"
            assert isinstance(getattr(r, name), float) and same(getattr(r, name), js[name]), name
            checked += 1
        else:
            for osc in js["oscillators"]:
                assert name in osc, f"qsync steady --json: oscillators[] has no {name}"
                mine = getattr(r, name)[osc["name"]]
                if o["per_level"]:
                    assert len(mine) == len(osc[name]) and all(same(float(x), y) for x, y in zip(mine, osc[name]))
                else:
                    assert same(mine, osc[name]), (name, osc["name"])
                checked += 1
        assert checked, name


def test_diagnostics_are_the_command_lines(solved):
    r, js = solved
    assert r.residual == js["residual"]
    for p in js["pairs"]:
        assert same(r.truncation_error[p["a"], p["b"]], p["truncation_error"])
        assert r.min_eigenvalue[p["a"], p["b"]] == p["min_eigenvalue"]
    assert same(r.truncation_error_max, js["truncation_error_max"])
    for osc in js["oscillators"]:
        assert r.levels[osc["name"]] == osc["levels"]
        assert r.top_population[osc["name"]] == osc["top_population"]
    assert r.warnings == js["warnings"]
    assert r.stats["sector_dimension"] == js["sector_dimension"]


def test_state_against_qutip(solved):
    qutip = pytest.importorskip("qutip")
    r, _ = solved
    rho = r.rho()
    q = r.to_qutip()
    dims = [r.levels[n] for n in r.names]
    assert q.dims == [dims, dims]
    assert np.array_equal(q.full(), rho)
    assert abs(np.trace(rho) - 1) < 1e-12 and np.abs(rho - rho.conj().T).max() < 1e-14
    for j, a in enumerate(r.names):
        assert np.abs(r.rho_oscillator(a) - q.ptrace(j).full()).max() < 1e-12
        assert np.abs(np.diag(r.rho_oscillator(a)).real - r.populations[a]).max() < 1e-14
        n = qutip.num(dims[j])
        assert abs(r.mean_n[a] - (q.ptrace(j) * n).tr().real) < 1e-10
        for k in range(j + 1, len(r.names)):
            b = r.names[k]
            assert np.abs(r.rho_pair(a, b) - q.ptrace([j, k]).full()).max() < 1e-12
            # the reversed order is the same state with the factors exchanged
            La, Lb = dims[j], dims[k]
            swapped = r.rho_pair(b, a).reshape(Lb, La, Lb, La).transpose(1, 0, 3, 2).reshape(La * Lb, La * Lb)
            assert np.abs(swapped - r.rho_pair(a, b)).max() < 1e-15


def test_phase_distribution(solved):
    r, _ = solved
    for a, b in r.pairs:
        phi = np.linspace(0, 2 * np.pi, 721)
        P = r.phase_distribution(a, b, phi)
        assert P.shape == phi.shape
        assert abs(np.trapz(P, phi) - 1) < 1e-9                       # a probability density on the circle
        peak = r.phase_distribution(a, b, [r.phi_max[a, b]])[0]
        assert abs(2 * np.pi * peak - 1 - r.S[a, b]) < 1e-12          # S = 2π max P − 1 at phi_max
        assert 2 * np.pi * P.max() - 1 <= r.S[a, b] + 1e-12
        Q = r.phase_distribution(a, b, [r.phi_max_Q[a, b]], husimi=True)[0]
        assert abs(2 * np.pi * Q - 1 - r.S_Q[a, b]) < 1e-12


def test_pairs_in_either_order(solved):
    r, _ = solved
    angle = {o["name"] for o in qsync.observables() if o["angle"]}
    for name, values in r.observables.items():
        if not isinstance(values, qsync._values.PairValues):
            continue
        assert values.angle == (name in angle)
        for a, b in r.pairs:
            x = values[a, b]
            assert x == values[f"{a}-{b}"]
            if name in angle:                   # the angle of phi_b - phi_a
                assert values[b, a] == values[f"{b}-{a}"] == (0.0 if x == 0 else (2 * math.pi - x) % (2 * math.pi))
                assert 0 <= values[b, a] < 2 * math.pi
            else:
                assert values[b, a] == values[f"{b}-{a}"] == x
    with pytest.raises(AttributeError, match="observables: "):
        r.no_such_observable


def test_preconditioner_keyword(root, run_json):
    """preconditioner= as the command line's --preconditioner: the same numbers bit for bit, the
    one used in the stats (1 block, 2 uncoupled), and a bad name refused."""
    path = str(root / "examples/ring4.ini")
    m = qsync.Model.load(path)
    for name, code in (("block", 1), ("uncoupled", 2)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", qsync.TruncationWarning)
            r = m.steady(solver="iterative", preconditioner=name, truncation_check=False)
        js = run_json("steady", path, "--solver", "iterative", "--preconditioner", name, "--no-truncation-check")
        assert r.stats["preconditioner"] == code and js["preconditioner"] == name
        assert r.stats["iterations"] == js["iterations"] > 0
        for p in js["pairs"]:
            assert r.S[p["a"], p["b"]] == p["S"]
    with pytest.raises(qsync.InputError, match="preconditioner"):
        m.steady(preconditioner="ilu")


def test_help_lists_keywords_and_observables():
    text = pydoc.render_doc(qsync.Model.steady, renderer=pydoc.plaintext)
    for word in ["solver", "memory_limit", "residual_tol", "truncation_check", "s_tol", "tail_tol", "symmetry", "preconditioner"]:
        assert word in text, word
    for o in qsync.observables():
        assert o["name"] in text and o["summary"] in text, o["name"]
    for f in (qsync.Model.sweep, qsync.Model.classical, qsync.Model.load, qsync.Model.set):
        assert f.__doc__ and len(f.__doc__) > 60
    sweep = pydoc.render_doc(qsync.Model.sweep, renderer=pydoc.plaintext)
    for word in ["vary", "ties", "observe", "threads", "KeyboardInterrupt"]:
        assert word in sweep


def test_to_qutip_without_qutip(solved, monkeypatch):
    import sys
    r, _ = solved
    monkeypatch.setitem(sys.modules, "qutip", None)      # import qutip now raises ImportError
    with pytest.raises(ImportError, match="needs QuTiP"):
        r.to_qutip()
