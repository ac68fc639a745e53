# SSD1306 OLED driver over I2C (micropython-lib's, vendored) with changed-region updates.
#
# Vendored from micropython-lib, micropython/drivers/display/ssd1306/ssd1306.py
# (commit 2fcfb294f69ef97d8eb2cb463b69a1a73bacee19), under its MIT licence:
#
#   The MIT License (MIT)
#
#   Copyright (c) 2013, 2014 micropython-lib contributors
#
#   Permission is hereby granted, free of charge, to any person obtaining a copy
#   of this software and associated documentation files (the "Software"), to deal
#   in the Software without restriction, including without limitation the rights
#   to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
#   copies of the Software, and to permit persons to whom the Software is
#   furnished to do so, subject to the following conditions:
#
#   The above copyright notice and this permission notice shall be included in
#   all copies or substantial portions of the Software.
#
#   THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
#   IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
#   FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
#   AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
#   LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
#   OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
#   THE SOFTWARE.
#
# Changes for holdtimer (see docs/display.md):
# - show() sends only what changed since the last show(): it keeps a shadow copy of what the
#   panel holds and, per page, sends the changed column span (neighbouring pages merged into one
#   window when that is fewer bytes). show(True) and init_display() send the full frame.
# - bytes_sent / writes count what crosses the bus (for benchmarks and tests).
# - init_display() sends its commands as one command stream (control byte 0x00).
# - The register constants are private (_SET_...), so they live in the bytecode only.
# - The SPI class is left out: the device uses I2C only, and the bus is touched only through
#   i2c.writeto() and i2c.writevto(), so a fake bus (boards/sim_i2c.py) is a drop-in.
# The driver needs MicroPython's framebuf (and viper): it runs under MicroPython only (the Pico and
# the unix port), never under CPython.

from micropython import const
import framebuf
import micropython


# register definitions (underscored: const names that cost no heap or qstr at run time)
_SET_CONTRAST = const(0x81)
_SET_ENTIRE_ON = const(0xA4)
_SET_NORM_INV = const(0xA6)
_SET_DISP = const(0xAE)
_SET_MEM_ADDR = const(0x20)
_SET_COL_ADDR = const(0x21)
_SET_PAGE_ADDR = const(0x22)
_SET_DISP_START_LINE = const(0x40)
_SET_SEG_REMAP = const(0xA0)
_SET_MUX_RATIO = const(0xA8)
_SET_IREF_SELECT = const(0xAD)
_SET_COM_OUT_DIR = const(0xC0)
_SET_DISP_OFFSET = const(0xD3)
_SET_COM_PIN_CFG = const(0xDA)
_SET_DISP_CLK_DIV = const(0xD5)
_SET_PRECHARGE = const(0xD9)
_SET_VCOM_DESEL = const(0xDB)
_SET_CHARGE_PUMP = const(0x8D)

# Bytes a window costs besides its data: 0x00 + 6 addressing command bytes, then the 0x40 data
# control byte.
_WINDOW_COST = const(8)


@micropython.viper
def _span(buf, shadow, off: int, n: int) -> int:
    # First and last differing byte of buf[off:off+n] vs shadow, as first << 8 | last; -1 if none.
    a = ptr8(buf)
    b = ptr8(shadow)
    i = 0
    while i < n:
        if a[off + i] != b[off + i]:
            break
        i += 1
    if i == n:
        return -1
    j = n - 1
    while a[off + j] == b[off + j]:
        j -= 1
    return (i << 8) | j


@micropython.viper
def _copy(dst, src, off: int, n: int):
    # dst[off:off+n] = src[off:off+n] without allocating.
    d = ptr8(dst)
    s = ptr8(src)
    i = off
    end = off + n
    while i < end:
        d[i] = s[i]
        i += 1


# Subclassing FrameBuffer provides support for graphics primitives
# http://docs.micropython.org/en/latest/pyboard/library/framebuf.html
class SSD1306(framebuf.FrameBuffer):
    def __init__(self, width, height, external_vcc):
        self.width = width
        self.height = height
        self.external_vcc = external_vcc
        self.pages = self.height // 8
        self.buffer = bytearray(self.pages * self.width)
        # What the panel holds, as far as we know; valid only while self._full is False.
        self.shadow = bytearray(self.pages * self.width)
        self._mv = memoryview(self.buffer)
        self._win = bytearray((0x00, _SET_COL_ADDR, 0, 127, _SET_PAGE_ADDR, 0, 7))
        self._full = True
        self.bytes_sent = 0  # bytes handed to the bus (control + command + data bytes)
        self.writes = 0  # bus transactions (each also costs an address byte on the wire)
        super().__init__(self.buffer, self.width, self.height, framebuf.MONO_VLSB)
        self.init_display()

    def init_display(self):
        self.write_cmds(
            bytes(
                (
                    0x00,  # control byte: a command stream follows
                    _SET_DISP,  # display off
                    # address setting
                    _SET_MEM_ADDR,
                    0x00,  # horizontal
                    # resolution and layout
                    _SET_DISP_START_LINE,  # start at line 0
                    _SET_SEG_REMAP | 0x01,  # column addr 127 mapped to SEG0
                    _SET_MUX_RATIO,
                    self.height - 1,
                    _SET_COM_OUT_DIR | 0x08,  # scan from COM[N] to COM0
                    _SET_DISP_OFFSET,
                    0x00,
                    _SET_COM_PIN_CFG,
                    0x02 if self.width > 2 * self.height else 0x12,
                    # timing and driving scheme
                    _SET_DISP_CLK_DIV,
                    0x80,
                    _SET_PRECHARGE,
                    0x22 if self.external_vcc else 0xF1,
                    _SET_VCOM_DESEL,
                    0x30,  # 0.83*Vcc
                    # display
                    _SET_CONTRAST,
                    0xFF,  # maximum
                    _SET_ENTIRE_ON,  # output follows RAM contents
                    _SET_NORM_INV,  # not inverted
                    _SET_IREF_SELECT,
                    0x30,  # enable internal IREF during display on
                    # charge pump
                    _SET_CHARGE_PUMP,
                    0x10 if self.external_vcc else 0x14,
                    _SET_DISP | 0x01,  # display on
                )
            )
        )
        self.fill(0)
        self.show(True)

    def poweroff(self):
        self.write_cmd(_SET_DISP)

    def poweron(self):
        self.write_cmd(_SET_DISP | 0x01)

    def contrast(self, contrast):
        self.write_cmd(_SET_CONTRAST)
        self.write_cmd(contrast)

    def invert(self, invert):
        self.write_cmd(_SET_NORM_INV | (invert & 1))

    def rotate(self, rotate):
        self.write_cmd(_SET_COM_OUT_DIR | ((rotate & 1) << 3))
        self.write_cmd(_SET_SEG_REMAP | (rotate & 1))

    def show(self, force=False):
        """Send what changed since the last show(); everything when force or after a bus error.

        Returns the number of bytes this call handed to the bus (0 when nothing changed).
        """
        before = self.bytes_sent
        w = self.width
        if force or self._full:
            self._full = True  # stays set if the bus fails mid-frame
            self._send(0, w - 1, 0, self.pages - 1)
            _copy(self.shadow, self.buffer, 0, len(self.buffer))
            self._full = False
            return self.bytes_sent - before
        buf = self.buffer
        shadow = self.shadow
        g0 = -1  # first page of the pending window; -1: none
        ga = gb = 0  # its column span
        for p in range(self.pages):
            s = _span(buf, shadow, p * w, w)
            if s < 0:
                if g0 >= 0:
                    self._flush(ga, gb, g0, p - 1)
                    g0 = -1
                continue
            a = s >> 8
            b = s & 0xFF
            if g0 >= 0:
                na = a if a < ga else ga
                nb = b if b > gb else gb
                # one window over both, or the pending window plus a new one?
                if (nb - na + 1) * (p - g0 + 1) <= (gb - ga + 1) * (p - g0) + _WINDOW_COST + b - a + 1:
                    ga = na
                    gb = nb
                    continue
                self._flush(ga, gb, g0, p - 1)
            g0 = p
            ga = a
            gb = b
        if g0 >= 0:
            self._flush(ga, gb, g0, self.pages - 1)
        return self.bytes_sent - before

    def _flush(self, x0, x1, p0, p1):
        self._full = True  # until the window is known to have arrived
        self._send(x0, x1, p0, p1)
        w = self.width
        for p in range(p0, p1 + 1):
            _copy(self.shadow, self.buffer, p * w + x0, x1 - x0 + 1)
        self._full = False

    def _send(self, x0, x1, p0, p1):
        # Address window columns x0..x1, pages p0..p1 (horizontal mode), then its data.
        off = (128 - self.width) // 2  # narrow displays use centred columns
        c = self._win
        c[2] = x0 + off
        c[3] = x1 + off
        c[5] = p0
        c[6] = p1
        self.write_cmds(c)
        w = self.width
        mv = self._mv
        if x0 == 0 and x1 == w - 1:  # whole rows: one contiguous slice
            self.write_data(mv[p0 * w : (p1 + 1) * w])
        elif p0 == p1:
            self.write_data(mv[p0 * w + x0 : p0 * w + x1 + 1])
        else:
            parts = [b"\x40"]
            for p in range(p0, p1 + 1):
                parts.append(mv[p * w + x0 : p * w + x1 + 1])
            self._writev(parts)


class SSD1306_I2C(SSD1306):
    def __init__(self, width, height, i2c, addr=0x3C, external_vcc=False):
        self.i2c = i2c
        self.addr = addr
        self.temp = bytearray(2)
        self.write_list = [b"\x40", None]  # Co=0, D/C#=1
        super().__init__(width, height, external_vcc)

    def write_cmd(self, cmd):
        self.temp[0] = 0x80  # Co=1, D/C#=0
        self.temp[1] = cmd
        self.i2c.writeto(self.addr, self.temp)
        self.bytes_sent += 2
        self.writes += 1

    def write_cmds(self, buf):
        # buf starts with the control byte 0x00 (Co=0, D/C#=0): the rest is one command stream.
        self.i2c.writeto(self.addr, buf)
        self.bytes_sent += len(buf)
        self.writes += 1

    def write_data(self, buf):
        self.write_list[1] = buf
        self.i2c.writevto(self.addr, self.write_list)
        self.write_list[1] = None
        self.bytes_sent += 1 + len(buf)
        self.writes += 1

    def _writev(self, bufs):
        self.i2c.writevto(self.addr, bufs)
        n = 0
        for b in bufs:
            n += len(b)
        self.bytes_sent += n
        self.writes += 1
