"""qsync.Model: a network of Kerr self-oscillators, read by the library's one parser."""
import ctypes
import numbers
import os
import re
from collections.abc import Mapping

from . import _lib
from ._errors import InputError
from ._lib import lib

OSC_KEYS = ("omega", "K", "gamma_plus", "gamma_minus", "sigma_plus", "sigma_minus", "n_plus", "n_minus", "noise",
            "gamma_T", "levels")


def value_text(value, what="value"):
    """A Python value as the text of a model file: numbers (int, float, complex, NumPy
    scalars) written so that they read back exactly, strings (e.g. "auto", "0.1-0.2i") as
    they are."""
    if isinstance(value, str):
        return _lib.checked_text(value, what)
    if isinstance(value, bool) or value is None:
        raise InputError(f"{what}: {value!r} is not a number")
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    if isinstance(value, numbers.Complex):
        z = complex(value)
        im = repr(z.imag)
        return f"{z.real!r}{im if im.startswith('-') else '+' + im}i"
    raise InputError(f"{what}: {value!r} is not a number, a complex number or a string")


def _mapping(value, what, example):
    if value is not None and not isinstance(value, Mapping):
        raise InputError(f"{what}: expected a dictionary, e.g. {what}={example}, not {type(value).__name__} "
                         f"{value!r}")
    return value or {}


def _pair_text(key, what):
    if isinstance(key, tuple):
        if len(key) != 2:
            raise InputError(f"{what}: expected a pair of oscillator names (A, B) or 'A-B'")
        return f"{_lib.checked_text(str(key[0]), what)}-{_lib.checked_text(str(key[1]), what)}"
    return _lib.checked_text(str(key), what)


def model_lines(defaults=None, oscillators=None, couplings=None):
    """The model file (INI, MODEL.md §5) of these dictionaries as a list of (line, what): each
    line beside the Python expression it was written from (e.g. "oscillators['2']['omega']"),
    which the library's messages about that line are rewritten to name."""
    defaults = _mapping(defaults, "defaults", "{'sigma': 0.2, 'nbar': 2}")
    oscillators = _mapping(oscillators, "oscillators", "{'1': {'omega': 20}, '2': {}}")
    couplings = _mapping(couplings, "couplings", "{('1', '2'): 0.05}")
    if not oscillators:
        raise InputError("Model: oscillators is empty: give at least one, e.g. oscillators={'1': {'omega': 20}, '2': {}}")
    lines = []

    def section(title, what, items, key_text=lambda k, what: _lib.checked_text(str(k), what)):
        lines.append((f"[{title}]", what))
        for key, value in items.items():
            where = f"{what}[{key!r}]"
            k = key_text(key, where)
            text = value_text(value, where)
            if "\n" in k or "\r" in k or "\n" in text or "\r" in text or "=" in k or ";" in text or "#" in text:
                raise InputError(f"{where} = {text!r}: a key or value may not hold a newline, '=', ';' or '#'")
            lines.append((f"{k} = {text}", where))

    if defaults:
        section("defaults", "defaults", defaults)
    for name, params in oscillators.items():
        where = f"oscillators[{name!r}]"
        text = _lib.checked_text(str(name), where)
        if "\n" in text or "\r" in text or "]" in text:
            raise InputError(f"{where}: oscillator name {text!r}: letters, digits and _ only")
        params = _mapping(params, where, "{'omega': 20}")
        section(f"oscillator {text}", where, params)
    if couplings:
        section("coupling", "couplings", couplings, _pair_text)
    return lines


def model_text(defaults=None, oscillators=None, couplings=None):
    """The model file (INI, MODEL.md §5) of these dictionaries, as Model() reads it."""
    return "".join(line + "\n" for line, _ in model_lines(defaults, oscillators, couplings))


class Model:
    """A network of Kerr self-oscillators (Eqs. 1-4 of Lörch et al. 2017; MODEL.md §1, §5).

    Model(defaults={...}, oscillators={...}, couplings={...}) writes the model file of these
    dictionaries and reads it with the library's parser, so its rules and messages are those of
    a model file::

        m = qsync.Model(defaults={"K": 10, "gamma": 1, "sigma": 0.2, "nbar": 2, "levels": 8},
                        oscillators={"1": {"omega": 20}, "2": {}},
                        couplings={("1", "2"): 0.05})       # or {"1-2": 0.05}; complex: 0.1+0.05j

    An error in the dictionaries names the entry it came from, e.g. "oscillators['2']['omega']:
    omega needs a finite real number, not 'x'"; the dictionaries must be dictionaries, and no
    string may hold a NUL character.

    Model.load(path) reads a file. copy.copy, copy.deepcopy and m.copy() give independent
    copies; m.close() frees the C model at once (any later use raises qsync.Error). Oscillators keep their order; names are strings.
    Keys: omega K gamma gamma_plus gamma_minus sigma sigma_plus sigma_minus nbar n_plus n_minus
    noise gamma_T levels (a number, or "auto").
    """

    def __init__(self, defaults=None, oscillators=None, couplings=None, *, name="<python>"):
        lines = model_lines(defaults, oscillators, couplings)
        text = "".join(line + "\n" for line, _ in lines)
        prefix = re.compile(re.escape(name) + r":([0-9]+): ")

        def rewrite(message):       # "<python>:5: ..." → "oscillators['2']['omega']: ..."
            m = prefix.match(message)
            if m and 1 <= int(m.group(1)) <= len(lines):
                return lines[int(m.group(1)) - 1][1] + ": " + message[m.end():]
            return message

        self._h = self._read(lambda h, e: lib.qs_model_load_string(_lib.text(text, "Model"), _lib.text(name, "name"),
                                                                   h, e), rewrite)
        self._text = text

    @staticmethod
    def _read(call, rewrite=None):
        handle = ctypes.c_void_p()
        err = _lib.Err()
        _lib.check(call(ctypes.byref(handle), ctypes.byref(err)), err, rewrite=rewrite)
        return _lib.Handle(handle, lib.qs_model_free, "qsync.Model")

    @classmethod
    def load(cls, path):
        """Read a model file (MODEL.md §5). Raises InputError (bad content, naming the file and
        line) or IOError-class errors for a file that cannot be read."""
        self = cls.__new__(cls)
        try:
            path = os.fspath(path)
        except TypeError:
            raise InputError(f"Model.load: expected a file path, not {type(path).__name__} {path!r}") from None
        self._h = cls._read(lambda h, e: lib.qs_model_load(_lib.text(path, "path"), h, e))
        self._text = None
        return self

    @classmethod
    def from_string(cls, text, name="<string>"):
        """Read a model from the text of a model file; `name` stands for the file in messages."""
        self = cls.__new__(cls)
        self._h = cls._read(lambda h, e: lib.qs_model_load_string(_lib.text(text, "text"), _lib.text(name, "name"),
                                                                  h, e))
        self._text = text
        return self

    @classmethod
    def _wrap(cls, ptr):
        if not ptr:
            raise MemoryError("qsync: out of memory copying the model")
        self = cls.__new__(cls)
        self._h = _lib.Handle(ptr, lib.qs_model_free, "qsync.Model")
        self._text = None
        return self

    @property
    def _ptr(self):
        """The C model; qsync.Error after close()."""
        return self._h.ptr

    def close(self):
        """Free the C model now (otherwise freed with the last reference); any later use raises
        qsync.Error."""
        self._h.close()

    def copy(self):
        """An independent copy (changing one does not change the other). copy.copy and
        copy.deepcopy give the same."""
        return Model._wrap(lib.qs_model_copy(self._ptr))

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __reduce__(self):
        raise TypeError("a qsync.Model cannot be pickled; keep its file (Model.load) or its dictionaries")

    def set(self, path, value):
        """Change one parameter, by the paths of --set: "NAME.key" (one oscillator), "key" (every
        oscillator), "A-B" (the coupling C_AB, created if absent). value: a number, a complex
        number (couplings), "auto" (levels) or the text of a model file. Returns the model."""
        err = _lib.Err()
        path = str(path)
        value = value_text(value, f"Model.set({path!r}) value")
        _lib.check(lib.qs_model_set(self._ptr, _lib.text(path, "Model.set path"),
                                    _lib.text(value, f"Model.set({path!r}) value"), ctypes.byref(err)), err)
        return self

    @property
    def names(self):
        """Oscillator names, in file order."""
        return [lib.qs_model_name(self._ptr, j).decode() for j in range(lib.qs_model_size(self._ptr))]

    @property
    def pairs(self):
        """Pairs (a, b) of oscillator names, a before b in file order: the order of every pair observable."""
        n = self.names
        return [(n[a], n[b]) for a in range(len(n)) for b in range(a + 1, len(n))]

    @property
    def source(self):
        """The file the model was read from (or the name given to text)."""
        return lib.qs_model_source(self._ptr).decode()

    def index(self, name):
        """The position of oscillator `name`; InputError naming the oscillators if there is none."""
        j = lib.qs_model_find(self._ptr, _lib.text(str(name), "oscillator name"))
        if j < 0:
            raise InputError(f"no oscillator named {name!r} (oscillators: {', '.join(self.names)})")
        return j

    def oscillator(self, name):
        """The parameters of oscillator `name` as a dict (omega, K, gamma_plus, ..., levels; levels 0: auto)."""
        o = lib.qs_model_osc(self._ptr, self.index(name)).contents
        return {k: getattr(o, k) for k in OSC_KEYS}

    @property
    def couplings(self):
        """The couplings C_ab as {(a, b): complex}, a before b in file order (C_ba = conj C_ab)."""
        out = {}
        names = self.names
        for i in range(lib.qs_model_coupling_count(self._ptr)):
            a, b, c = ctypes.c_int(), ctypes.c_int(), _lib.c_complex()
            lib.qs_model_coupling(self._ptr, i, ctypes.byref(a), ctypes.byref(b), c)
            out[(names[a.value], names[b.value])] = complex(c[0], c[1])
        return out

    def __repr__(self):
        levels = [lib.qs_model_osc(self._ptr, j).contents.levels for j in range(len(self.names))]
        osc = ", ".join(f"{n} ({lv if lv else 'auto'} levels)" for n, lv in zip(self.names, levels))
        coup = ", ".join(f"{a}-{b} = {c:g}" for (a, b), c in self.couplings.items())
        return f"<qsync.Model {self.source!r}: oscillators {osc}; couplings {coup or 'none'}>"

    # ---- computations (defined in their modules) ----
    def steady(self, **options):
        from .steady import steady
        return steady(self, **options)

    def sweep(self, vary, **options):
        from .sweep import sweep
        return sweep(self, vary, **options)

    def classical(self, **options):
        from .classical import classical
        return classical(self, **options)

    def evolve(self, time, samples, from_="uncoupled", **options):
        from .evolve import evolve
        return evolve(self, time, samples, from_, **options)

    def spectrum(self, omega=None, lines=False, **options):
        from .spectrum import spectrum
        return spectrum(self, omega, lines, **options)
