"""The screens as a user sees them: rendered PNGs, docs in step with the firmware, the bus budget
of a hold (measured under MicroPython), and the SSD1306 emulator on CPython."""
import json
import os
import subprocess
import sys

import pytest

from conftest import BOARDS, REPO, run_micropython

RENDER = os.path.join(REPO, "tools", "render_screens.py")
DOCS = os.path.join(REPO, "docs", "screens")
FULL_FRAME = 1031  # SPEC.md: bytes of a full SSD1306 frame


def catalogue():
    sys.path.insert(0, os.path.dirname(RENDER))
    try:
        import render_screens
    finally:
        sys.path.pop(0)
    return render_screens


def image_pixels(path):
    from PIL import Image

    with Image.open(path) as im:
        return im.size, im.convert("RGB").tobytes()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("screens")
    r = subprocess.run([sys.executable, RENDER, str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return out


def test_render_script_writes_a_png_per_screen_and_an_index(rendered):
    names = [e[0] for e in catalogue().SCREENS]
    assert len(names) == len(set(names)) >= 17
    index = (rendered / "README.md").read_text()
    for name in names:
        size, data = image_pixels(rendered / (name + ".png"))
        assert size == (512, 256)
        colours = set(data[i : i + 3] for i in range(0, len(data), 3 * 97))
        assert len(colours) == 2, name  # lit and dark pixels, nothing else
        assert "(%s.png)" % name in index


def test_docs_screens_are_the_current_rendering(rendered):
    for name in [e[0] for e in catalogue().SCREENS]:
        doc = os.path.join(DOCS, name + ".png")
        assert os.path.exists(doc), "docs/screens/%s.png missing: run `make screens`" % name
        assert image_pixels(doc) == image_pixels(rendered / (name + ".png")), (
            "docs/screens/%s.png is out of date: run `make screens`" % name)


def test_hold_countdown_bus_bytes_per_second_stay_under_a_third_of_a_frame():
    r = run_micropython([RENDER, "--bus", "60"], heap_kb=192)
    assert r.returncode == 0, r.stdout + r.stderr
    figures = json.loads(r.stdout)
    upd, full = figures["update"], figures["full_redraw"]
    print("60 s hold: %.1f bytes/s over I2C (full frame %d); worst second %d bytes"
          % (upd["per_s"], FULL_FRAME, upd["worst"]))
    assert upd["ok"] and full["ok"]
    assert upd["per_s"] <= FULL_FRAME / 3 and upd["worst"] <= FULL_FRAME / 3
    # Redrawing the whole screen every second costs the bus the same: the driver sends the diff.
    assert full["total"] == upd["total"]


def test_emulator_runs_on_cpython_too():
    sys.path.insert(0, BOARDS)
    try:
        import sim_i2c
    finally:
        sys.path.pop(0)
    bus = sim_i2c.SimI2C()
    bus.writeto(0x3C, bytes((0x00, 0xAF, 0x8D, 0x14, 0xA1, 0xC8, 0x20, 0x00, 0x21, 0, 127, 0x22, 0, 7)))
    bus.writevto(0x3C, [b"\x40", bytes(range(256)) * 4])
    assert bus.gddram == bytes(range(256)) * 4
    assert bus.pixels() == bus.gddram and bus.pixel(1, 0) == 1 and bus.pixel(0, 0) == 0
    assert bus.data_bytes == 1024 and bus.bytes == 14 + 1025 and bus.errors == 0
    assert (bus.col, bus.page) == (0, 0)  # wrapped to the window start
