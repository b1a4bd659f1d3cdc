"""Model.evolve against `qsync evolve --json`, bit for bit, and its checks of the arguments."""
import math

import pytest

import qsync


@pytest.mark.parametrize("model,kw,flags", [
    ("examples/fig2b.ini", {}, []),
    ("tests/models/peer_three.ini", {"from_": {"A": 1, "B": 0, "C": 2}, "observe": ["negativity"], "method": "bdf"},
     ["--from", "fock:1,0,2", "--observe", "negativity", "--method", "bdf"]),
])
def test_evolve_is_the_command_lines(root, run_json, model, kw, flags):
    path = str(root / model)
    df = qsync.Model.load(path).evolve(time=4, samples=9, **kw)
    js = run_json("evolve", path, "--time", 4, "--samples", 9, *flags)
    assert list(df["t"]) == js["times"]
    extra = kw.get("observe", [])
    want = ["t"] + [f"S_{p['a']}-{p['b']}" for p in js["pairs"]] + [f"mean_n_{o['name']}" for o in js["oscillators"]] + \
        [f"{x}_{p['a']}-{p['b']}" for x in extra for p in js["pairs"]]
    assert list(df.columns) == want
    for p in js["pairs"]:
        for x in ["S"] + extra:
            assert list(df[f"{x}_{p['a']}-{p['b']}"]) == p[x], (x, p["a"], p["b"])
    for o in js["oscillators"]:
        assert list(df[f"mean_n_{o['name']}"]) == o["mean_n"]
    assert df.attrs["trace_error_max"] < 1e-8 and df.attrs["steps"] > 0


def test_evolve_starts_from_the_state_asked(root):
    m = qsync.Model.load(str(root / "examples/fig2b.ini"))
    df = m.evolve(time=1, samples=2, from_=[3, 1])
    assert df["mean_n_1"][0] == 3 and df["mean_n_2"][0] == 1 and df["S_1-2"][0] == 0
    uncoupled = m.copy().set("1-2", 0).steady()
    d0 = m.evolve(time=1, samples=2)
    assert math.isclose(d0["mean_n_1"][0], uncoupled.mean_n["1"], rel_tol=1e-12)


def test_evolve_refuses_bad_arguments(root):
    m = qsync.Model.load(str(root / "examples/fig2b.ini"))
    for kw, words in [({"time": 0, "samples": 3}, "time"), ({"time": 1, "samples": 1}, "samples"),
                      ({"time": 1, "samples": 3, "from_": "fock"}, "from_"),
                      ({"time": 1, "samples": 3, "from_": {"9": 1}}, "no oscillator"),
                      ({"time": 1, "samples": 3, "from_": [1]}, "one whole number"),
                      ({"time": 1, "samples": 3, "method": "rk4"}, "method"),
                      ({"time": 1, "samples": 3, "observe": ["S"]}, "once"),
                      ({"time": 1, "samples": 3, "from_": [99, 0]}, "")]:
        with pytest.raises(qsync.InputError, match=words):
            m.evolve(**kw)
