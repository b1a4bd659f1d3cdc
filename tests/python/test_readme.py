"""The README's Python section, run as written: every ```python block of "## Python", in
order, in one interpreter, in a scratch folder laid out as the repository (a copy of
examples/), with the package of this build."""
import os
import re
import shutil
import subprocess
import sys

import qsync


def python_blocks(readme):
    text = readme.read_text(encoding="utf-8")
    section = re.search(r"^## Python\n(.*?)(?=^## )", text, re.S | re.M)
    assert section, "README.md has no '## Python' section"
    blocks = re.findall(r"^```python\n(.*?)^```", section.group(1), re.S | re.M)
    assert blocks, "the Python section has no ```python block"
    return blocks


def test_readme_python_runs(root, tmp_path):
    shutil.copytree(root / "examples", tmp_path / "examples")
    script = "\n".join(python_blocks(root / "README.md"))
    (tmp_path / "readme_example.py").write_text(script)
    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(qsync.__file__)))
    env = dict(os.environ, PYTHONPATH=package_dir)
    out = subprocess.run([sys.executable, "-W", "error::qsync.TruncationWarning", "readme_example.py"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    assert len(lines) >= 5 and "S_1-2" in out.stdout
