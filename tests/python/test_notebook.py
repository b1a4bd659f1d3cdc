"""examples/quickstart.ipynb executed headless by Jupyter (nbconvert, Debian's python3 kernel):
it runs without an error and its figures are in the executed notebook."""
import json
import os
import subprocess
import sys
import time

import qsync


def test_quickstart_notebook_runs(root, tmp_path):
    # the kernel runs in examples/: the package under test by its absolute folder
    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(qsync.__file__)))
    # and matplotlib's inline backend (the kernel's own; an MPLBACKEND would replace it)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([package_dir] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    env.pop("MPLBACKEND", None)
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "nbconvert", "--to", "notebook", "--execute",
                          "--ExecutePreprocessor.kernel_name=python3", "--ExecutePreprocessor.timeout=120",
                          "--output-dir", str(tmp_path), str(root / "examples" / "quickstart.ipynb")],
                         capture_output=True, text=True, env=env, timeout=300)
    seconds = time.monotonic() - start
    assert out.returncode == 0, out.stderr[-3000:]
    nb = json.loads((tmp_path / "quickstart.ipynb").read_text())
    outputs = [o for cell in nb["cells"] if cell["cell_type"] == "code" for o in cell.get("outputs", [])]
    errors = [o for o in outputs if o["output_type"] == "error"]
    assert not errors, errors
    assert not any(o.get("name") == "stderr" for o in outputs), [o for o in outputs if o.get("name") == "stderr"]
    pngs = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(pngs) == 2, "the two figures (S against the detuning, P(phi))"
    assert all(len(o["data"]["image/png"]) > 10000 for o in pngs)
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    for label in ('label="S_1-2"', "ax.set_xlabel", "ax.set_ylabel", "ax.legend()"):
        assert label in code
    assert seconds < 60, f"the notebook took {seconds:.0f} s"
