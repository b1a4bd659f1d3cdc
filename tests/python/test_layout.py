"""The C structures mirrored by ctypes have the headers' layout: sizes and every field's
offset, printed by a C program compiled against include/qsync (a mismatch would make the
library read or write the wrong bytes)."""
import ctypes
import shutil
import subprocess

import pytest

from qsync import _lib

STRUCTS = {
    "qs_error": _lib.Err, "qs_osc": _lib.Osc, "qs_steady_options": _lib.SteadyOptions,
    "qs_steady_stats": _lib.SteadyStats, "qs_classical_options": _lib.ClassicalOptions,
    "qs_classical_pair": _lib.ClassicalPair, "qs_classical_result": _lib.ClassicalResult,
    "qs_convergence": _lib.Convergence, "qs_observable": _lib.Observable, "qs_axis": _lib.Axis,
    "qs_tie": _lib.Tie, "qs_sweep_options": _lib.SweepOptions, "qs_analysis_options": _lib.AnalysisOptions,
    "qs_spectrum_options": _lib.SpectrumOptions, "qs_evolve_options": _lib.EvolveOptions,
}
HEADERS = {"qs_spectrum_options": "spectrum.h", "qs_evolve_options": "evolve.h"}   # beyond qsync/qsync.h


def c_name(field):
    return field.rstrip("_")    # "raise_" is C's "raise"


@pytest.fixture(scope="module")
def c_layout(tmp_path_factory, root):
    cc = shutil.which("cc") or shutil.which("gcc")
    assert cc, "no C compiler (build-essential is a build dependency)"
    present = {c: cls for c, cls in STRUCTS.items() if c not in HEADERS or (root / "include/qsync" / HEADERS[c]).exists()}
    lines = ["#include <stdio.h>", "#include <stddef.h>", '#include "qsync/qsync.h"'] + \
        [f'#include "qsync/{HEADERS[c]}"' for c in present if c in HEADERS] + ["int main(void) {"]
    for cname, cls in present.items():
        lines.append(f'printf("{cname} sizeof %zu\\n", sizeof({cname}));')
        for field, _ in cls._fields_:
            lines.append(f'printf("{cname} {field} %zu\\n", offsetof({cname}, {c_name(field)}));')
    lines += ["return 0;", "}"]
    d = tmp_path_factory.mktemp("layout")
    (d / "layout.c").write_text("\n".join(lines))
    subprocess.run([cc, "-std=c11", "-I", str(root / "include"), str(d / "layout.c"), "-o", str(d / "layout")],
                   check=True)
    out = subprocess.run([str(d / "layout")], capture_output=True, text=True, check=True).stdout
    return {(a, b): int(c) for a, b, c in (line.split() for line in out.splitlines())}


@pytest.mark.parametrize("cname", list(STRUCTS))
def test_layout(cname, c_layout):
    if (cname, "sizeof") not in c_layout:
        pytest.skip(f"include/qsync/{HEADERS[cname]} is not in this tree")
    cls = STRUCTS[cname]
    assert ctypes.sizeof(cls) == c_layout[cname, "sizeof"], cname
    for field, _ in cls._fields_:
        assert getattr(cls, field).offset == c_layout[cname, field], f"{cname}.{c_name(field)}"
