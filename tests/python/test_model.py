"""qsync.Model: built from dictionaries through the library's parser, loaded, changed, copied."""
import warnings

import pytest

import qsync

FIG2B = dict(defaults={"K": 10, "gamma": 1, "sigma": 0.2, "nbar": 2, "levels": 8},
             oscillators={"1": {"omega": 20}, "2": {}}, couplings={("1", "2"): 0.05})


def test_dictionaries_make_the_file(root):
    a = qsync.Model(**FIG2B)
    b = qsync.Model.load(root / "examples/fig2b.ini")
    assert a.names == b.names == ["1", "2"]
    assert a.pairs == [("1", "2")]
    for n in a.names:
        assert a.oscillator(n) == b.oscillator(n)
    assert a.couplings == b.couplings == {("1", "2"): 0.05}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert a.steady().S["1", "2"] == b.steady().S["1", "2"]


def test_values_read_back_exactly():
    x = 0.1 + 1e-17
    m = qsync.Model(defaults={"sigma": 0.2, "nbar": 2, "levels": 4},
                    oscillators={"A": {"omega": 1 / 3}, "B": {"K": 7}},
                    couplings={"A-B": complex(1 / 7, -2 / 9)})
    assert m.oscillator("A")["omega"] == 1 / 3
    assert m.oscillator("B")["K"] == 7.0
    assert m.couplings[("A", "B")] == complex(1 / 7, -2 / 9)
    m.set("A-B", complex(x, 1e-300)).set("B.omega", -2.5e-7).set("levels", "auto")
    assert m.couplings[("A", "B")] == complex(x, 1e-300)
    assert m.oscillator("B")["omega"] == -2.5e-7
    assert m.oscillator("A")["levels"] == 0          # auto


def test_copy_is_independent(root):
    m = qsync.Model.load(root / "examples/fig2b.ini")
    c = m.copy()
    c.set("1.omega", 0.0)
    assert m.oscillator("1")["omega"] == 20.0 and c.oscillator("1")["omega"] == 0.0
    assert "fig2b.ini" in repr(m) and "1 (8 levels)" in repr(m) and "1-2" in repr(m)


def test_bad_input_raises_with_the_librarys_message(root):
    m = qsync.Model.load(root / "examples/fig2b.ini")
    with pytest.raises(qsync.InputError, match="3.omega") as e:
        m.set("3.omega", 1)
    assert isinstance(e.value, ValueError) and e.value.status == -1
    with pytest.raises(qsync.InputError, match="1-2"):
        m.set("1-2", "0.1+")
    with pytest.raises(qsync.InputError, match="not a number"):
        m.set("1.omega", None)
    with pytest.raises(qsync.InputError, match="no_such.ini"):
        qsync.Model.load(root / "no_such.ini")
    with pytest.raises(qsync.InputError, match=r"^defaults\[.sigma.\]: sigma must be > 0"):
        qsync.Model(defaults={"sigma": -1, "nbar": 2}, oscillators={"1": {}})
    with pytest.raises(qsync.InputError, match="bogus"):
        qsync.Model(oscillators={"1": {"sigma": 0.2, "nbar": 2, "bogus": 1}})
    with pytest.raises(qsync.InputError, match="newline"):
        qsync.Model(oscillators={"1": {"sigma": "0.2\n[coupling]"}})
    with pytest.raises(qsync.InputError, match="oscillators"):
        qsync.Model(oscillators={})
    with pytest.raises(TypeError, match="unexpected keyword"):
        m.steady(solvr="direct")
    with pytest.raises(qsync.InputError, match="solver"):
        m.steady(solver="lu")


def test_memory_refusal(root):
    m = qsync.Model.load(root / "examples/fig2b.ini")
    with pytest.raises(qsync.MemoryRefused) as e:
        m.steady(memory_limit=1000)
    assert isinstance(e.value, MemoryError) and e.value.status == -3
    assert "fig2b.ini" in str(e.value) and "MiB" in str(e.value)
    with pytest.raises(qsync.MemoryRefused):
        m.steady(memory_limit="1K")


def test_truncation_warning(root):
    m = qsync.Model.load(root / "examples/fig2b.ini").set("levels", 6)
    with pytest.warns(qsync.TruncationWarning, match="estimated truncation error of S"):
        r = m.steady(s_tol=1e-4)
    assert r.status == "truncation" and len(r.warnings) == 1 and r.truncation_error_max > r.s_tol == 1e-4
    with pytest.warns(qsync.TruncationWarning, match="cannot be estimated"):
        r = m.set("levels", 4).steady()                # top level inside the populated range (n- = 3)
    assert r.status == "truncation" and r.truncation_error_max != r.truncation_error_max   # NaN
    with pytest.warns(qsync.TruncationWarning, match="not estimated"):
        r = m.set("levels", 4).steady(truncation_check=False)
    assert r.status == "top-level"
