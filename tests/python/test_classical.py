"""Model.classical against `qsync classical --json`, bit for bit."""
import pytest

import qsync

OPTIONS = dict(trajectories=96, replicas=3, seed=3, burn_in=10, time=40, sample_every=0.5)
FLAGS = ["--trajectories", 96, "--replicas", 3, "--seed", 3, "--burn-in", 10, "--time", 40, "--sample-every", 0.5]


@pytest.mark.parametrize("model", ["examples/fig2b.ini", "tests/models/peer_three.ini"])
def test_classical_is_the_command_lines(root, run_json, model):
    path = root / model
    m = qsync.Model.load(path).set("noise", 0.05).set("gamma_T", 0.1)
    c = m.classical(**OPTIONS, histogram=(8, 4))
    js = run_json("classical", path, "--set", "noise=0.05", "--set", "gamma_T=0.1", "--histogram", "8:4", *FLAGS)
    assert [(p["a"], p["b"]) for p in js["pairs"]] == list(c.S)
    for p in js["pairs"]:
        for key in ("S", "S_err", "phi_max", "harmonics"):
            assert getattr(c, key)[p["a"], p["b"]] == p[key], key
    assert c.escaped_fraction == js["escaped_fraction"]
    for p in js["pairs"]:
        assert c.beat[p["a"], p["b"]] == p["beat"] and c.beat_err[p["a"], p["b"]] == p["beat_err"]
    for osc in js["oscillators"]:
        assert c.nu[osc["name"]] == osc["nu"] and c.nu_err[osc["name"]] == osc["nu_err"]
        assert c.mean_x[osc["name"]] == osc["mean_x"]
        assert list(c.histogram[osc["name"]]) == osc["histogram"]
    assert c.samples == js["samples"]


def test_classical_threads_do_not_change_the_result(root):
    m = qsync.Model.load(root / "examples/fig2b.ini").set("noise", 0.05)
    a, b = m.classical(**OPTIONS, threads=1), m.classical(**OPTIONS, threads=2)
    assert list(a.S.values()) == list(b.S.values()) and list(a.S_err.values()) == list(b.S_err.values())


def test_classical_bad_options(root):
    m = qsync.Model.load(root / "examples/fig2b.ini")
    for kw, words in [({"trajectories": 10}, "trajectories"), ({"dt": 0}, "dt"), ({"seed": -1}, "seed"),
                      ({"histogram": (0, 4)}, "bins"), ({"dt": 1e-9}, "time steps"), ({"threads": 0}, "threads")]:
        with pytest.raises(qsync.InputError, match=words):
            m.classical(**kw)
