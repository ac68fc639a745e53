"""The display stack under MicroPython: the emulated SSD1306, the driver's changed-region updates,
every screen's content read back from the emulated panel, and the bus bytes of a hold.

Runs under the MicroPython unix port (tests/fw/mprun.py, driven by tests/test_fw_micropython.py).
The driver and the screens need MicroPython's framebuf, so under CPython pytest skips this module;
tests/test_screens.py covers what CPython can check (the emulator alone, the rendered PNGs).
"""
try:
    import framebuf
except ImportError:  # CPython
    import pytest

    pytest.skip("needs MicroPython's framebuf: runs under tests/fw/mprun.py", allow_module_level=True)

import gc
import random
import sys

import fwtest

for _p in (fwtest.REPO + "/boards", fwtest.REPO + "/tools"):
    if _p not in sys.path:
        sys.path.append(_p)

import render_screens  # noqa: E402  (the screen catalogue, with sample data)
import screenread  # noqa: E402
import screens  # noqa: E402
import sim_i2c  # noqa: E402
import ssd1306  # noqa: E402

FULL_FRAME = 1031  # SPEC.md: a full SSD1306 frame is about 1,031 bytes


def new_display():
    bus = sim_i2c.SimI2C()
    return ssd1306.SSD1306_I2C(128, 64, bus), bus


def powered(mode):
    """A bare emulator, lit, in addressing `mode`."""
    bus = sim_i2c.SimI2C()
    bus.writeto(0x3C, bytes((0x00, 0xAF, 0x8D, 0x14, 0xA1, 0xC8, 0x20, mode)))
    return bus


def ram(bus, col, page):
    return bus.gddram[page * 128 + col]


# ---- the emulated controller -------------------------------------------------------------------
def test_emulator_powers_up_dark_in_page_mode():
    bus = sim_i2c.SimI2C()
    assert not bus.on and bus.mode == sim_i2c.PAGE and bus.contrast == 0x7F
    assert bus.pixels() == bytes(1024)
    bus.writeto(0x3C, b"\x00\xaf")  # on, but no charge pump: an internal-VCC panel stays dark
    bus.writeto(0x3C, b"\x40\xff")
    assert not bus.lit() and bus.pixels() == bytes(1024)


def test_horizontal_mode_fills_the_window_row_by_row_and_wraps_to_its_start():
    bus = powered(0)
    bus.writeto(0x3C, bytes((0x00, 0x21, 10, 12, 0x22, 2, 3)))
    bus.writeto(0x3C, bytes([0x40] + list(range(1, 10))))
    assert [ram(bus, c, 2) for c in (10, 11, 12)] == [7, 8, 9]  # 7..9 wrapped to (10, page 2)
    assert [ram(bus, c, 3) for c in (10, 11, 12)] == [4, 5, 6]
    assert ram(bus, 13, 2) == 0 and ram(bus, 9, 2) == 0 and ram(bus, 10, 4) == 0
    assert (bus.col, bus.page) == (10, 3)
    assert bus.data_bytes == 9 and bus.errors == 0


def test_vertical_mode_fills_the_window_column_by_column():
    bus = powered(1)
    bus.writeto(0x3C, bytes((0x00, 0x21, 5, 6, 0x22, 0, 2)))
    bus.reset_counters()
    bus.writevto(0x3C, (b"\x40", bytes((1, 2, 3)), bytes((4, 5, 6, 7))))
    assert [ram(bus, 5, p) for p in range(3)] == [7, 2, 3]
    assert [ram(bus, 6, p) for p in range(3)] == [4, 5, 6]
    assert bus.transactions == 1 and bus.bytes == 8 and bus.data_bytes == 7


def test_page_mode_uses_page_and_nibble_commands_and_wraps_within_the_page():
    bus = powered(2)
    bus.writeto(0x3C, b"\x00\xb3\x05\x12")  # page 3, column 0x25
    assert (bus.page, bus.col) == (3, 0x25)
    bus.writeto(0x3C, b"\x40" + bytes(range(1, 128 - 0x25 + 1)) + b"\xaa")
    assert ram(bus, 127, 3) == 128 - 0x25
    assert ram(bus, 0x25, 3) == 0xAA  # wrapped to the column start, same page
    assert ram(bus, 0, 4) == 0 and ram(bus, 0, 3) == 0
    bus.writeto(0x3C, b"\x00\x21\x00\x10")  # a window command does not move the page-mode pointer
    assert (bus.page, bus.col) == (3, 0x26)


def test_control_bytes_single_and_stream():
    bus = powered(0)
    bus.writeto(0x3C, bytes((0x00, 0x21, 0, 127, 0x22, 0, 7)))
    # Co=1: one data byte, then another control byte; Co=0 command stream: invert, contrast 0x20
    bus.writeto(0x3C, bytes((0xC0, 0x55, 0x80, 0xA7, 0x00, 0x81, 0x20)))
    assert ram(bus, 0, 0) == 0x55 and bus.inverted and bus.contrast == 0x20
    assert bus.errors == 0
    bus.writeto(0x3C, b"\x01\xe3")  # low bits of a control byte set: counted as misuse
    assert bus.errors == 1


def test_command_arguments_may_come_in_later_transactions():
    bus = powered(0)
    bus.writeto(0x3C, b"\x80\x81")
    assert bus.contrast == 0x7F
    bus.writeto(0x3C, b"\x80\x10")
    assert bus.contrast == 0x10 and bus.errors == 0


def test_data_inside_a_command_argument_is_a_protocol_error():
    bus = powered(0)
    bus.writeto(0x3C, b"\x00\x81")
    bus.writeto(0x3C, b"\x40\x01")
    assert bus.errors == 1 and bus.contrast == 0x7F


def test_wrong_address_or_failing_bus_raises_oserror():
    bus = sim_i2c.SimI2C()
    fwtest.raises(OSError, bus.writeto, 0x3D, b"\x00\xaf")
    bus.fail_writes = 1
    fwtest.raises(OSError, bus.writeto, 0x3C, b"\x00\xaf")
    assert not bus.on
    bus.writeto(0x3C, b"\x00\xaf")
    assert bus.on and bus.scan() == [0x3C]


def test_pixels_follow_inversion_orientation_and_display_off():
    bus = powered(0)
    bus.writeto(0x3C, b"\x40\x01")  # (0, 0) lit
    pix = bus.pixels()
    assert pix[0] == 1 and sum(pix) == 1 and bus.pixel(0, 0) == 1
    bus.writeto(0x3C, b"\x00\xa0\xc0")  # no remap, normal COM scan: upside down
    assert bus.pixel(127, 63) == 1 and bus.pixel(0, 0) == 0
    bus.writeto(0x3C, b"\x00\xa1\xc8\xa7")  # upright, inverted
    assert bus.pixel(0, 0) == 0 and bus.pixel(1, 0) == 1
    bus.writeto(0x3C, b"\x00\xae")
    assert bus.pixels() == bytes(1024)
    rows = powered(0).rows()
    assert len(rows) == 64 and len(rows[0]) == 128


# ---- the driver ----------------------------------------------------------------------------------
def test_init_configures_the_panel_and_sends_one_full_frame():
    d, bus = new_display()
    assert bus.on and bus.lit() and bus.mode == sim_i2c.HORIZONTAL and bus.contrast == 0xFF
    assert bus.data_bytes == 1024 and bus.errors == 0
    assert bus.pixels() == bytes(1024)
    assert d.bytes_sent == bus.bytes and d.writes == bus.transactions == 3


def test_a_full_frame_is_1024_data_bytes_plus_8_bytes_of_addressing():
    d, bus = new_display()
    bus.reset_counters()
    n = d.show(True)
    assert bus.data_bytes == 1024 and n == bus.bytes == 1032
    assert abs(n - FULL_FRAME) <= 8


def test_show_sends_nothing_when_nothing_changed():
    d, bus = new_display()
    d.text("hold", 0, 0)
    d.show()
    bus.reset_counters()
    d.text("hold", 0, 0)  # same pixels again
    assert d.show() == 0 and bus.transactions == 0


def test_one_changed_pixel_costs_one_data_byte():
    d, bus = new_display()
    bus.reset_counters()
    d.pixel(70, 20, 1)
    assert d.show() == 7 + 1 + 1
    assert bus.data_bytes == 1 and ram(bus, 70, 2) == 1 << 4


def test_a_block_over_several_pages_goes_as_one_window():
    d, bus = new_display()
    bus.reset_counters()
    d.fill_rect(30, 18, 20, 28, 1)  # pages 2..5, like one big digit
    assert d.show() == 8 + 20 * 4 and bus.transactions == 2
    assert bus.pixels() == bytes(d.buffer)


def test_distant_changes_on_neighbouring_pages_go_as_separate_windows():
    d, bus = new_display()
    bus.reset_counters()
    d.pixel(0, 0, 1)
    d.pixel(127, 8, 1)
    assert d.show() == 2 * (8 + 1) and bus.pixels() == bytes(d.buffer)


def test_changed_region_updates_reproduce_the_framebuffer_after_any_draws():
    random.seed(3)
    d, bus = new_display()
    for i in range(150):
        for _ in range(random.randint(1, 4)):
            op = random.randint(0, 7)
            x, y = random.randint(-10, 137), random.randint(-10, 73)
            w, h = random.randint(0, 60), random.randint(0, 40)
            c = random.randint(0, 1)
            if op == 0:
                d.fill_rect(x, y, w, h, c)
            elif op == 1:
                d.text("rep %d" % i, x, y, c)
            elif op == 2:
                d.line(x, y, x + w, y - h, c)
            elif op == 3:
                d.pixel(x & 127, y & 63, c)
            elif op == 4:
                d.rect(x, y, w, h, c)
            elif op == 5:
                d.hline(x, y, w, c)
            elif op == 6:
                d.scroll(random.randint(-3, 3), random.randint(-3, 3))
            elif random.randint(0, 9) == 0:
                d.fill(c)
        n = d.show()
        assert bus.pixels() == bytes(d.buffer), "draw batch %d" % i
        assert bus.gddram == d.buffer
        assert n <= 1032 + 8 * 8
    assert bus.errors == 0


def test_a_bus_error_mid_update_makes_the_next_show_a_full_frame():
    d, bus = new_display()
    d.fill_rect(0, 0, 10, 10, 1)
    bus.fail_writes = 1
    fwtest.raises(OSError, d.show)
    bus.reset_counters()
    d.show()
    assert bus.data_bytes == 1024 and bus.pixels() == bytes(d.buffer)
    bus.reset_counters()
    assert d.show() == 0


def test_poweroff_contrast_invert_rotate_reach_the_panel():
    d, bus = new_display()
    d.pixel(0, 0, 1)
    d.show()
    d.contrast(0x20)
    d.invert(1)
    assert bus.contrast == 0x20 and bus.inverted and bus.pixel(0, 0) == 0
    d.invert(0)
    d.rotate(0)
    assert bus.pixel(127, 63) == 1 and bus.pixel(0, 0) == 0
    d.rotate(1)
    d.poweroff()
    assert not bus.on and bus.pixels() == bytes(1024)
    d.poweron()
    assert bus.pixel(0, 0) == 1 and bus.errors == 0


# ---- the screens -----------------------------------------------------------------------------
def _check_screen(d, bus, entry):
    name, fn, kw, texts, big, _what = entry
    render_screens.draw(d, entry)
    d.show()
    pix = bus.pixels()
    assert pix == bytes(d.buffer), name
    for t in texts:
        inverse = t.startswith("!")
        t = t[1:] if inverse else t
        assert screenread.find_text(pix, t, inverse) is not None, "%s: %r not shown; shows %r" % (name, t, screenread.lines(pix))
    assert screenread.big_text(pix) == big, "%s: big %r, expected %r" % (name, screenread.big_text(pix), big)
    assert any(pix), name


def test_every_screen_shows_its_key_texts_on_the_emulated_panel():
    d, bus = new_display()
    for entry in render_screens.SCREENS:
        _check_screen(d, bus, entry)
    assert bus.errors == 0
    # Every function of the screen list has a sample.
    drawn = set(e[1] for e in render_screens.SCREENS)
    for fn in ("menu", "empty_menu", "prep", "hold", "switch", "rest", "tempo", "press", "paused", "done",
               "last", "help", "safe_mode", "low_battery", "error", "flash_full", "resume"):
        assert fn in drawn, fn


def test_text_reader_reads_the_hold_screen_lines():
    d, bus = new_display()
    screens.hold(d, "Towel stretch", "straighten leg", 23, 1, 1, 2, 1, 2, 450, (76, False))
    d.show()
    lines = screenread.lines(bus.pixels())
    assert lines[0] == "Towel stretch" and lines[1] == "straighten leg"
    assert lines[6] == "rep 1/2  set 1/2"
    screens.paused(d, "Towel stretch", 17)
    d.show()
    pix = bus.pixels()
    assert screenread.lines(pix)[0] == "PAUSED" and screenread.big_text(pix) == "|17"


def test_sixteen_character_names_and_cues_fit_the_line():
    d, bus = new_display()
    name, cue = "Seated stretch 2", "legs out slowly!"
    screens.hold(d, name, cue, 600, 2, 100, 100, 20, 20, 1000, (100, True))
    d.show()
    pix = bus.pixels()
    assert screenread.find_text(pix, name) == (0, 0) and screenread.find_text(pix, cue) == (0, 8)
    assert screenread.find_text(pix, "r100/100 s20/20") is not None
    assert screenread.big_text(pix) == "R600"


def test_last_screen_without_a_session_and_long_error_messages():
    d, bus = new_display()
    screens.last(d)
    d.show()
    assert screenread.find_text(bus.pixels(), "none yet")
    screens.error(d, "x" * 40 + " storage.py line 123: OSError 28")
    d.show()
    lines = screenread.lines(bus.pixels())
    assert lines[0] == "ERROR" and lines[1] == "x" * 16 and lines[7] == "restarting"


def test_hold_countdown_reads_back_every_second():
    d, bus = new_display()
    screens.hold(d, "Towel stretch", "", 60, 1, 1, 1, 1, 1, 0, None)
    d.show()
    for s in range(60, -1, -1):
        screens.update(d, s, 1, (60 - s) * 16, None)
        d.show()
        assert screenread.big_text(bus.pixels()) == "L%d" % s


def test_hold_countdown_sends_under_a_third_of_a_full_frame_per_second():
    for full_redraw in (False, True):
        r = render_screens.hold_bus(60, full_redraw)
        print("hold 60 s, %s: %.1f bytes/s (worst second %d bytes, %d transactions)"
              % ("full redraw" if full_redraw else "update()", r["per_s"], r["worst"], r["transactions"]))
        assert r["ok"]
        assert r["per_s"] <= FULL_FRAME / 3, r
        assert r["worst"] <= FULL_FRAME / 3, r


def test_per_second_update_allocates_nothing():
    d, bus = new_display()
    screens.hold(d, "Towel stretch", "straighten leg", 60, 1, 1, 2, 1, 2, 0, (50, False))
    batt = (50, False)
    gc.collect()
    before = gc.mem_alloc()
    for s in range(59, -1, -1):
        screens.update(d, s, 1, 600 - s * 10, batt)
    assert gc.mem_alloc() - before == 0


def test_text_helpers_keep_lines_within_16_characters():
    for s in ("routine towel.json unreadable", "a" * 40, "Easy hamstring stretches for the lower back"):
        for line in screens.wrap(s):
            assert 0 < len(line) <= 16, line
    assert screens.wrap("Easy hamstring stretches", 16, 2) == ["Easy hamstring", "stretches"]
    assert screens.repset(2, 5, 1, 2) == "rep 2/5  set 1/2"
    assert screens.repset(1, 1, 1, 1) == "" and screens.repset(1, 1, 2, 3) == "set 2/3"
    assert len(screens.repset(100, 100, 20, 20)) <= 16
    assert screens.mmss(580) == "9:40" and screens.mmss(3900) == "1h05"
