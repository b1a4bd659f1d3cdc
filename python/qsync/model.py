"""qsync.Model: a network of Kerr self-oscillators, read by the library's one parser."""
import ctypes
import numbers
import os

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
        return value
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


def _pair_text(key):
    if isinstance(key, tuple):
        if len(key) != 2:
            raise InputError(f"coupling {key!r}: expected a pair of oscillator names (A, B) or 'A-B'")
        return f"{key[0]}-{key[1]}"
    return str(key)


def model_text(defaults=None, oscillators=None, couplings=None):
    """The model file (INI, MODEL.md §5) of these dictionaries, as Model() reads it."""
    if not oscillators:
        raise InputError("Model: oscillators is empty: give at least one, e.g. oscillators={'1': {'omega': 20}, '2': {}}")
    lines = []

    def section(title, items, what):
        lines.append(f"[{title}]")
        for key, value in (items or {}).items():
            key = str(key)
            text = value_text(value, f"{what} {key}")
            if "\n" in key or "\n" in text or "=" in key or ";" in text or "#" in text:
                raise InputError(f"{what} {key!r} = {text!r}: a key or value may not hold a newline, '=', ';' or '#'")
            lines.append(f"{key} = {text}")

    if defaults:
        section("defaults", defaults, "defaults")
    for name, params in oscillators.items():
        name = str(name)
        if "\n" in name or "]" in name:
            raise InputError(f"oscillator name {name!r}: letters, digits and _ only")
        if params is not None and not hasattr(params, "items"):
            raise InputError(f"oscillator {name}: expected a dictionary of parameters, not {params!r}")
        section(f"oscillator {name}", params, f"oscillator {name}:")
    if couplings:
        section("coupling", {_pair_text(k): v for k, v in couplings.items()}, "coupling")
    return "\n".join(lines) + "\n"


class Model:
    """A network of Kerr self-oscillators (Eqs. 1-4 of Lörch et al. 2017; MODEL.md §1, §5).

    Model(defaults={...}, oscillators={...}, couplings={...}) writes the model file of these
    dictionaries and reads it with the library's parser, so its rules and messages are those of
    a model file::

        m = qsync.Model(defaults={"K": 10, "gamma": 1, "sigma": 0.2, "nbar": 2, "levels": 8},
                        oscillators={"1": {"omega": 20}, "2": {}},
                        couplings={("1", "2"): 0.05})       # or {"1-2": 0.05}; complex: 0.1+0.05j

    Model.load(path) reads a file. Oscillators keep their order; names are strings.
    Keys: omega K gamma gamma_plus gamma_minus sigma sigma_plus sigma_minus nbar n_plus n_minus
    noise gamma_T levels (a number, or "auto").
    """

    def __init__(self, defaults=None, oscillators=None, couplings=None, *, name="<python>"):
        text = model_text(defaults, oscillators, couplings)
        self._ptr = self._read(lambda h, e: lib.qs_model_load_string(_lib.text(text), _lib.text(name), h, e))
        self._text = text

    @staticmethod
    def _read(call):
        handle = ctypes.c_void_p()
        err = _lib.Err()
        _lib.check(call(ctypes.byref(handle), ctypes.byref(err)), err)
        return handle

    @classmethod
    def load(cls, path):
        """Read a model file (MODEL.md §5). Raises InputError (bad content, naming the file and
        line) or IOError-class errors for a file that cannot be read."""
        self = cls.__new__(cls)
        self._ptr = cls._read(lambda h, e: lib.qs_model_load(_lib.text(os.fspath(path)), h, e))
        self._text = None
        return self

    @classmethod
    def from_string(cls, text, name="<string>"):
        """Read a model from the text of a model file; `name` stands for the file in messages."""
        self = cls.__new__(cls)
        self._ptr = cls._read(lambda h, e: lib.qs_model_load_string(_lib.text(text), _lib.text(name), h, e))
        self._text = text
        return self

    @classmethod
    def _wrap(cls, ptr):
        self = cls.__new__(cls)
        self._ptr = ctypes.c_void_p(ptr)
        self._text = None
        return self

    def __del__(self, _free=lib.qs_model_free, _byref=ctypes.byref):   # bound now: safe at interpreter exit
        ptr = getattr(self, "_ptr", None)
        if ptr is not None and ptr.value:
            _free(_byref(ptr))

    def copy(self):
        """An independent copy (changing one does not change the other)."""
        ptr = lib.qs_model_copy(self._ptr)
        if not ptr:
            raise MemoryError("qsync: out of memory copying the model")
        return Model._wrap(ptr)

    __copy__ = copy

    def set(self, path, value):
        """Change one parameter, by the paths of --set: "NAME.key" (one oscillator), "key" (every
        oscillator), "A-B" (the coupling C_AB, created if absent). value: a number, a complex
        number (couplings), "auto" (levels) or the text of a model file. Returns the model."""
        err = _lib.Err()
        path = str(path)
        _lib.check(lib.qs_model_set(self._ptr, _lib.text(path), _lib.text(value_text(value, path)), ctypes.byref(err)),
                   err)
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
        j = lib.qs_model_find(self._ptr, _lib.text(str(name)))
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
