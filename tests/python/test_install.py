"""`make install` puts the package where Debian's python3 looks (site.getsitepackages() for the
prefix), and the installed copy loads the installed library. Installed with DESTDIR into a
scratch folder, for PREFIX /usr/local (the default) and /usr."""
import os
import pathlib
import shutil
import site
import subprocess
import sys

import pytest


@pytest.mark.parametrize("prefix", ["/usr/local", "/usr"])
def test_install_where_python_looks(cli, tmp_path, prefix):
    build = pathlib.Path(cli).resolve().parent
    cmake = shutil.which("cmake")
    assert cmake, "cmake is a build dependency"
    dest = tmp_path / "root"
    out = subprocess.run([cmake, "--install", str(build), "--prefix", prefix], env=dict(os.environ, DESTDIR=str(dest)),
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    found = sorted(dest.rglob("qsync/__init__.py"))
    assert len(found) == 1, found
    package = found[0].parent
    site_dir = "/" + str(package.parent.relative_to(dest))
    assert site_dir in site.getsitepackages(), (site_dir, site.getsitepackages())
    config = (package / "_build_config.py").read_text()
    library = f"{prefix}/lib/libqsync.so.0"
    assert f'LIBRARY = "{library}"' in config
    assert (dest / library.lstrip("/")).exists()
    # the installed copy, with the installed library (under DESTDIR, so named by QSYNC_LIBRARY)
    env = dict(os.environ, PYTHONPATH=str(package.parent), QSYNC_LIBRARY=str(dest / library.lstrip("/")))
    code = "import qsync; print(qsync.__file__); print(qsync.library_path)"
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [str(package / "__init__.py"), str(dest / library.lstrip("/"))]
