"""Read-only mappings of per-oscillator and per-pair values, keyed by oscillator names."""
import numpy as np


class OscillatorValues:
    """Values of one observable per oscillator: v["1"] (by name). Iterating gives the names;
    .items(), .keys(), .values() as for a dict; np.asarray(v) the values in oscillator order
    (not for populations, whose arrays differ in length)."""

    def __init__(self, name, names, values):
        self.name = name
        self._names = list(names)
        self._values = list(values)
        self._index = {n: i for i, n in enumerate(self._names)}

    def __getitem__(self, key):
        try:
            return self._values[self._index[str(key)]]
        except KeyError:
            raise KeyError(f"{self.name}: no oscillator {key!r} (oscillators: {', '.join(self._names)})") from None

    def keys(self):
        return list(self._names)

    def values(self):
        return list(self._values)

    def items(self):
        return list(zip(self._names, self._values))

    def __iter__(self):
        return iter(self._names)

    def __len__(self):
        return len(self._names)

    def __contains__(self, key):
        return str(key) in self._index

    def __array__(self, dtype=None):
        return np.asarray(self._values, dtype=dtype)

    def __repr__(self):
        return f"{self.name}{{" + ", ".join(f"{n!r}: {v!r}" for n, v in self.items()) + "}"


class PairValues:
    """Values of one observable per pair (a, b), a before b in file order: v["1", "2"] or
    v["1-2"]. The reversed order v["2", "1"] is refused (KeyError): for angles it would be a
    different number. Iterating gives the pairs; np.asarray(v) the values in pair order."""

    def __init__(self, name, pairs, values):
        self.name = name
        self._pairs = list(pairs)
        self._values = list(values)
        self._index = {p: i for i, p in enumerate(self._pairs)}
        self._index.update({f"{a}-{b}": i for i, (a, b) in enumerate(self._pairs)})

    def __getitem__(self, key):
        k = tuple(str(x) for x in key) if isinstance(key, tuple) else str(key)
        if k in self._index:
            return self._values[self._index[k]]
        if isinstance(k, tuple) and k[::-1] in self._index:
            raise KeyError(f"{self.name}: pairs are named in file order: use {k[::-1]!r}, not {k!r}")
        raise KeyError(f"{self.name}: no pair {key!r} (pairs: {', '.join(f'{a}-{b}' for a, b in self._pairs)})")

    def keys(self):
        return list(self._pairs)

    def values(self):
        return list(self._values)

    def items(self):
        return list(zip(self._pairs, self._values))

    def __iter__(self):
        return iter(self._pairs)

    def __len__(self):
        return len(self._pairs)

    def __contains__(self, key):
        return (tuple(str(x) for x in key) if isinstance(key, tuple) else str(key)) in self._index

    def __array__(self, dtype=None):
        return np.asarray(self._values, dtype=dtype)

    def __repr__(self):
        return f"{self.name}{{" + ", ".join(f"'{a}-{b}': {v!r}" for (a, b), v in self.items()) + "}"
