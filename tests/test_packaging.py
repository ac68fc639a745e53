"""Building holdtimer's wheel (what `make demo` / pip install do) gives no setuptools deprecation
warning and installs the routine schema."""
import subprocess
import sys
import zipfile

from conftest import REPO


def test_wheel_builds_without_setuptools_warnings(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path), REPO],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr
    for word in ("deprecated", "Package would be ignored", "SetuptoolsDeprecationWarning"):
        assert word not in out, out
    wheel = next(tmp_path.glob("holdtimer-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "holdtimer/schema/routine.schema.json" in names
