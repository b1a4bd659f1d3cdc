"""Read-only mappings of per-oscillator and per-pair values, keyed by oscillator names."""
import math

import numpy as np


class _Values:
    """What both mappings share: a name, keys in model order and their values, read as a dict
    is read (keys, values, items, iteration, len) and by np.asarray in that order."""

    def __init__(self, name, keys, values):
        self.name = name
        self._keys = list(keys)
        self._values = list(values)

    def keys(self):
        return list(self._keys)

    def values(self):
        return list(self._values)

    def items(self):
        return list(zip(self._keys, self._values))

    def __iter__(self):
        return iter(self._keys)

    def __len__(self):
        return len(self._keys)

    def __array__(self, dtype=None):
        return np.asarray(self._values, dtype=dtype)


class OscillatorValues(_Values):
    """Values of one observable per oscillator: v["1"] (by name). Iterating gives the names;
    .items(), .keys(), .values() as for a dict; np.asarray(v) the values in oscillator order
    (not for populations, whose arrays differ in length)."""

    def __init__(self, name, names, values):
        super().__init__(name, names, values)
        self._index = {n: i for i, n in enumerate(self._keys)}

    def __getitem__(self, key):
        try:
            return self._values[self._index[str(key)]]
        except KeyError:
            raise KeyError(f"{self.name}: no oscillator {key!r} (oscillators: {', '.join(self._keys)})") from None

    def __contains__(self, key):
        return str(key) in self._index

    def __repr__(self):
        return f"{self.name}{{" + ", ".join(f"{n!r}: {v!r}" for n, v in self.items()) + "}"


class PairValues(_Values):
    """Values of one observable per pair (a, b), a before b in file order: v["1", "2"] or
    v["1-2"]. Either order may be asked: v["2", "1"] (or v["2-1"]) is the value of the pair
    seen from the other side. A symmetric observable (S, negativity, ...) has the same value;
    an angle (angle=True: phi_max, phi_max_Q, correlation_phase, the angle of φ_a − φ_b) gives
    the angle of φ_b − φ_a = −(φ_a − φ_b), i.e. (2π − φ) mod 2π (0 stays 0). Iterating gives
    the pairs in file order; np.asarray(v) the values in that order."""

    def __init__(self, name, pairs, values, angle=False):
        super().__init__(name, pairs, values)
        self.angle = bool(angle)
        self._index = {p: i for i, p in enumerate(self._keys)}
        self._index.update({f"{a}-{b}": i for i, (a, b) in enumerate(self._keys)})
        self._reversed = {(b, a): i for i, (a, b) in enumerate(self._keys)}
        self._reversed.update({f"{b}-{a}": i for i, (a, b) in enumerate(self._keys)})

    @staticmethod
    def _key(key):
        return tuple(str(x) for x in key) if isinstance(key, tuple) else str(key)

    def _flip(self, value):
        if not self.angle or value == 0 or value != value:
            return value
        return (2 * math.pi - value) % (2 * math.pi)

    def __getitem__(self, key):
        k = self._key(key)
        if k in self._index:
            return self._values[self._index[k]]
        if k in self._reversed:
            return self._flip(self._values[self._reversed[k]])
        raise KeyError(f"{self.name}: no pair {key!r} (pairs: {', '.join(f'{a}-{b}' for a, b in self._keys)})")

    def __contains__(self, key):
        k = self._key(key)
        return k in self._index or k in self._reversed

    def __repr__(self):
        return f"{self.name}{{" + ", ".join(f"'{a}-{b}': {v!r}" for (a, b), v in self.items()) + "}"
