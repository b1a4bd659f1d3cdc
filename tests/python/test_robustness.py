"""What the package refuses and how it owns its C objects: text that a C string cannot carry,
types that are not what a keyword means, copies of results, sweeps from several threads, pairs
named in either order, and messages that name what the user wrote."""
import copy
import math
import os
import subprocess
import sys
import textwrap
import threading

import pytest

import qsync

pytestmark = pytest.mark.filterwarnings("ignore::qsync.TruncationWarning")   # 4 levels: small, fast

BASE = dict(defaults={"K": 10, "gamma": 1, "sigma": 0.2, "nbar": 2, "levels": 4},
            oscillators={"1": {}, "2": {"omega": 20}}, couplings={"1-2": 0.05})


def model(**changes):
    kw = copy.deepcopy(BASE)
    kw.update(changes)
    return qsync.Model(**kw)


# ---- text a C string cannot carry: refused, naming the argument ----

def test_nul_in_model_values_and_names_is_refused():
    with pytest.raises(qsync.InputError, match=r"oscillators\['2'\]\['omega'\].*NUL"):
        model(oscillators={"1": {}, "2": {"omega": "20\x00"}})
    with pytest.raises(qsync.InputError, match=r"defaults\['sigma'\].*NUL"):
        model(defaults={"sigma": "0.2\x00junk", "nbar": 2})
    with pytest.raises(qsync.InputError, match=r"oscillators\['2\\x00x'\].*NUL"):
        model(oscillators={"1": {}, "2\x00x": {}})
    with pytest.raises(qsync.InputError, match=r"oscillators\['1'\]\['omega\\x00'\].*NUL"):
        model(oscillators={"1": {"omega\x00": 1}, "2": {}})
    with pytest.raises(qsync.InputError, match=r"couplings\['1-2\\x00'\].*NUL"):
        model(couplings={"1-2\x00": 0.05})
    with pytest.raises(qsync.InputError, match=r"couplings.*NUL"):
        model(couplings={("1", "2\x00"): 0.05})
    with pytest.raises(qsync.InputError, match="name.*NUL"):
        qsync.Model(**BASE, name="<py\x00>")


def test_nul_in_paths_values_files_and_observables_is_refused(root, tmp_path):
    m = model()
    with pytest.raises(qsync.InputError, match="Model.set path.*NUL"):
        m.set("1.omega\x00junk", 3)
    with pytest.raises(qsync.InputError, match=r"Model.set\('1.omega'\) value.*NUL"):
        m.set("1.omega", "3\x00junk")
    assert m.oscillator("1")["omega"] == 0.0          # untouched
    with pytest.raises(qsync.InputError, match="path.*NUL"):
        qsync.Model.load(str(root / "examples/fig2b.ini") + "\x00junk")
    with pytest.raises(qsync.InputError, match="path.*NUL"):
        qsync.Model.load(os.fsencode(str(root / "examples/fig2b.ini")) + b"\x00junk")
    with pytest.raises(qsync.InputError, match="text.*NUL"):
        qsync.Model.from_string("[oscillator 1]\nsigma = 0.2\nnbar = 2\n\x00[oscillator 2]\n")
    with pytest.raises(qsync.InputError, match="oscillator name.*NUL"):
        m.index("1\x00junk")
    with pytest.raises(qsync.InputError, match="vary path.*NUL"):
        m.sweep(vary={"1.omega\x00junk": [0, 1]})
    with pytest.raises(qsync.InputError, match="ties path.*NUL"):
        m.sweep(vary={"1.omega": [0, 1]}, ties={"K\x00junk": "1/sigma"})
    with pytest.raises(qsync.InputError, match=r"ties\['K'\].*NUL"):
        m.sweep(vary={"1.omega": [0, 1]}, ties={"K": "1/sigma\x00+1"})
    with pytest.raises(qsync.InputError, match="observable name.*NUL"):
        m.sweep(vary={"1.omega": [0, 1]}, observe=["S\x00junk"])


def test_text_that_is_not_utf8_is_refused():
    with pytest.raises(qsync.InputError, match=r"oscillators\['\\ud800'\].*not valid Unicode"):
        model(oscillators={"1": {}, "\ud800": {}})
    with pytest.raises(qsync.InputError, match="Model.set path.*not valid Unicode"):
        model().set("\udc80.omega", 1)


# ---- C objects owned once: copies share them, close() is final, nothing crashes ----

def run_python(code):
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                         env=dict(os.environ), timeout=300)
    assert out.returncode == 0, f"exit {out.returncode}\n{out.stdout}\n{out.stderr}"
    return out.stdout


def test_copies_share_the_state_and_close_is_final():
    # In a child process: a use after free would crash it, not this test run.
    out = run_python("""
        import copy, gc
        import numpy as np
        import qsync
        m = qsync.Model(defaults={"K": 10, "gamma": 1, "sigma": 0.2, "nbar": 2, "levels": 4},
                        oscillators={"1": {}, "2": {"omega": 20}}, couplings={"1-2": 0.05})
        r = m.steady()
        rho = r.rho()
        for make in (copy.copy, copy.deepcopy):
            c = make(r)
            assert np.array_equal(c.rho(), rho) and c.S["1", "2"] == r.S["1", "2"]
            del c
            gc.collect()
            assert np.array_equal(r.rho(), rho)
        c = copy.copy(r)
        r.close()
        r.close()                                        # twice: nothing more to free
        for obj in (r, c):
            for call in (obj.rho, lambda: obj.rho_pair("1", "2"), lambda: obj.dimension):
                try:
                    call()
                except qsync.Error as e:
                    assert "closed" in str(e), e
                else:
                    raise AssertionError("no error after close()")
        assert r.S["1", "2"] == c.S["1", "2"] > 0        # the observables stay
        try:
            r.__del__()
        except AttributeError:
            pass
        # Models: copies are independent; a closed model refuses every use.
        for make in (copy.copy, copy.deepcopy, lambda x: x.copy()):
            d = make(m)
            d.set("1.omega", 5)
            assert m.oscillator("1")["omega"] == 0.0 and d.oscillator("1")["omega"] == 5.0
            del d
            gc.collect()
        assert m.steady().S["1", "2"] == r.S["1", "2"]
        m.close()
        for call in (m.steady, lambda: m.set("1.omega", 1), lambda: m.names, m.copy, lambda: m.sweep({"1.omega": [0]})):
            try:
                call()
            except qsync.Error as e:
                assert "closed" in str(e), e
            else:
                raise AssertionError("no error after close()")
        print("done")
    """)
    assert out.strip() == "done"


# ---- sweeps from several threads: OpenBLAS's thread count restored once all are done ----

def test_concurrent_sweeps_restore_the_openblas_threads():
    from qsync._lib import lib
    get = getattr(lib, "openblas_get_num_threads", None)
    set_ = getattr(lib, "openblas_set_num_threads", None)
    assert get is not None and set_ is not None, "the library is linked with OpenBLAS (Debian's libopenblas)"
    import ctypes
    get.restype, get.argtypes = ctypes.c_int, []
    set_.restype, set_.argtypes = None, [ctypes.c_int]
    saved = get()
    try:
        set_(3)
        m = model()
        errors = []

        def work(k):
            try:
                for _ in range(3):
                    m.sweep(vary={"1.omega": [0, 5 + k, 10, 15]}, threads=1)
            except BaseException as e:   # pragma: no cover (reported below)
                errors.append(e)

        for _ in range(3):
            threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert not errors, errors
            assert get() == 3
    finally:
        set_(saved)


# ---- pairs in either order ----

def test_pairs_in_either_order():
    m = model()
    r = m.steady()
    flipped = qsync.Model(defaults=BASE["defaults"], oscillators={"2": {"omega": 20}, "1": {}},
                          couplings={"2-1": 0.05}).steady()
    assert flipped.pairs == [("2", "1")]
    kinds = {o["name"]: o for o in qsync.observables()}
    angles = {n for n, o in kinds.items() if o["angle"]}
    assert angles == {"phi_max", "phi_max_Q", "correlation_phase"}
    for name, o in kinds.items():
        if o["kind"] != "pair":
            continue
        v, w = getattr(r, name), getattr(flipped, name)
        assert ("2", "1") in v and "2-1" in v
        x = v["1", "2"]
        if name in angles:
            assert 0 < x < 2 * math.pi
            assert v["2", "1"] == v["2-1"] == (2 * math.pi - x) % (2 * math.pi)
        else:
            assert v["2", "1"] == v["2-1"] == x
        # the reversed file order solves the same state with the pair the other way round
        assert v["2", "1"] == pytest.approx(w["2", "1"], abs=1e-9), name
        assert v["1", "2"] == pytest.approx(w["1", "2"], abs=1e-9), name
    assert r.min_eigenvalue["2", "1"] == r.min_eigenvalue["1", "2"]
    assert list(r.S) == [("1", "2")]                  # iteration stays in file order
    with pytest.raises(KeyError, match="no pair"):
        r.S["1", "3"]


def test_angle_zero_stays_zero():
    from qsync._values import PairValues
    v = PairValues("phi_max", [("a", "b")], [0.0], angle=True)
    assert v["b", "a"] == 0.0
    w = PairValues("phi_max", [("a", "b")], [math.pi / 2], angle=True)
    assert w["b", "a"] == 3 * math.pi / 2
    assert PairValues("S", [("a", "b")], [0.25])["b", "a"] == 0.25


def test_classical_pairs_in_either_order():
    c = model(defaults=dict(BASE["defaults"], noise=0.1)).classical(trajectories=97, replicas=4, time=20, burn_in=5, seed=2)
    assert c.S["2", "1"] == c.S["1", "2"] and c.S_err["2", "1"] == c.S_err["1", "2"]
    phi = c.phi_max["1", "2"]
    assert c.phi_max["2", "1"] == (0.0 if phi == 0 else (2 * math.pi - phi) % (2 * math.pi))


# ---- types: yes/no keywords and dictionaries ----

@pytest.mark.parametrize("key", ["full", "symmetry", "per_oscillator"])
@pytest.mark.parametrize("value", ["no", "off", None, 2, 0.0, [1]])
def test_yes_no_keywords_take_only_booleans(key, value):
    with pytest.raises(qsync.InputError, match=f"{key}: expected True or False"):
        model().steady(**{key: value})


def test_yes_no_keywords_of_sweeps():
    m = model()
    for key in ("full", "symmetry", "warm_start"):
        with pytest.raises(qsync.InputError, match=f"{key}: expected True or False"):
            m.sweep(vary={"1.omega": [0]}, **{key: "off"})
    with pytest.raises(qsync.InputError, match="truncation_check"):
        m.steady(truncation_check="no")
    with pytest.raises(qsync.InputError, match="truncation_check"):
        m.sweep(vary={"1.omega": [0]}, truncation_check="no")
    # True/False and 1/0 keep their meaning
    a, b = m.steady(symmetry=False), m.steady(symmetry=0)
    assert a.stats["symmetry_order"] == b.stats["symmetry_order"] == 1
    full = m.steady(full=1, truncation_check=False)
    assert full.stats["system_dimension"] == 16 ** 2 > m.steady(full=0, truncation_check=False).stats["system_dimension"]


@pytest.mark.parametrize("kw, what", [
    (dict(oscillators=["1", "2"]), "oscillators"),
    (dict(defaults=[1]), "defaults"),
    (dict(couplings=[("1", "2", 0.05)]), "couplings"),
    (dict(oscillators={"1": {}, "2": ["omega", 20]}), r"oscillators\['2'\]"),
])
def test_dictionaries_that_are_not(kw, what):
    with pytest.raises(qsync.InputError, match=f"{what}: expected a dictionary"):
        model(**kw)


# ---- messages that name what the user wrote ----

@pytest.mark.parametrize("changes, message", [
    (dict(oscillators={"1": {}, "2": {"omega": "x"}}), r"^oscillators\['2'\]\['omega'\]: omega needs a finite"),
    (dict(defaults={"sigma": 0.2}), r"^oscillators\['1'\]: oscillator 1: n_plus is not set"),
    (dict(couplings={"1-3": 0.1}), r"^couplings\['1-3'\]: coupling 1-3 names no oscillator '3'"),
    (dict(couplings={("1", "3"): 0.1}), r"^couplings\[\('1', '3'\)\]: coupling 1-3"),
    (dict(oscillators={"1": {}, "a b": {}}), r"^oscillators\['a b'\]: bad oscillator name"),
    (dict(defaults={"sigma": 0.2, "nbar": 2, "bogus": 1}), r"^defaults\['bogus'\]: unknown key 'bogus'"),
])
def test_model_messages_name_the_dictionary_entry(changes, message):
    with pytest.raises(qsync.InputError, match=message) as e:
        model(**changes)
    assert "<python>" not in str(e.value)


def test_sweep_messages_name_the_python_keywords():
    m = model()
    with pytest.raises(qsync.InputError, match=r"ties K: unknown variable 'x'") as e:
        m.sweep(vary={"1.omega": [0, 1]}, ties={"K": "1/x"})
    assert "--" not in str(e.value)
    with pytest.raises(qsync.InputError, match=r"vary 1.omega and ties 1.omega name the same parameter") as e:
        m.sweep(vary={"1.omega": [0, 1]}, ties={"1.omega": "1"})
    assert "--" not in str(e.value)
    with pytest.raises(qsync.InputError, match=r"vary 1.omega: complex values only on couplings") as e:
        m.sweep(vary={"1.omega": qsync.Range(0, 1j, 3)})
    assert "--" not in str(e.value)
