"""Fake I2C bus with an emulated SSD1306 controller on it: what the driver sends becomes pixels.

The simulated board hands `SimI2C()` to the real driver (`ssd1306.SSD1306_I2C(128, 64, bus)`)
exactly as a Pico board hands it a `machine.I2C`. The controller is emulated at the protocol level
(SSD1306 datasheet rev 1.1, sections 8.1.5 and 10):
- each transaction is a series of control bytes: Co=1 means one byte follows and then another
  control byte, Co=0 means the rest of the transaction is that kind; D/C# selects data or command;
- command arguments may arrive in later transactions (the parser keeps its state, as the chip does);
- data bytes go into the 128 x 8-page GDDRAM at the address pointer, which auto-increments in
  horizontal, vertical or page addressing mode within the 0x21/0x22 window and wraps as the chip does;
- display on/off, contrast, normal/inverse, entire-on, segment remap, COM scan direction, start
  line, display offset, charge pump are kept as state and applied by pixels(); every other command
  of the datasheet is accepted with its argument count and ignored (scrolling is not animated).

Runs under MicroPython and CPython (no framebuf needed). Reading text and big digits back from
pixels() is left to tests/fw/screenread.py, so the simulator does not carry it.
"""
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

# Commands taking arguments: opcode, number of argument bytes (pairs in one bytes object, which
# costs the simulated heap far less than a dict).
_ARGS = const(
    b"\x20\x01"  # memory addressing mode
    b"\x21\x02"  # column address window
    b"\x22\x02"  # page address window
    b"\x23\x01"  # fade / blink (SSD1306B)
    b"\x26\x06\x27\x06"  # horizontal scroll setup
    b"\x29\x05\x2a\x05"  # vertical and horizontal scroll setup
    b"\x81\x01"  # contrast
    b"\x8d\x01"  # charge pump
    b"\xa3\x02"  # vertical scroll area
    b"\xa8\x01"  # multiplex ratio
    b"\xad\x01"  # internal IREF (SSD1306B)
    b"\xd3\x01"  # display offset
    b"\xd5\x01"  # clock divide / oscillator
    b"\xd6\x01"  # zoom in (SSD1306B)
    b"\xd9\x01"  # pre-charge period
    b"\xda\x01"  # COM pins configuration
    b"\xdb\x01"  # VCOMH deselect level
)


def _nargs(c):
    """Argument bytes of command c (0: none)."""
    a = _ARGS
    for i in range(0, len(a), 2):
        if a[i] == c:
            return a[i + 1]
    return 0


HORIZONTAL, VERTICAL, PAGE = 0, 1, 2


class SimI2C:
    """An I2C bus with one SSD1306 at `addr`; `writeto`/`writevto` as machine.I2C has them.

    State a test or the simulator reads: `on`, `inverted`, `contrast`, `entire_on`, `charge_pump`,
    `mode`, `gddram` (1024 bytes, page-major like framebuf.MONO_VLSB), `version` (bumped by every
    transaction that wrote data), and the counters `bytes` (all bytes handed over), `data_bytes`,
    `cmd_bytes`, `transactions`, `errors` (protocol misuse: bad control byte, data inside a
    command's arguments, unknown command) and `commands` (count of commands seen).
    """

    def __init__(self, addr=0x3C, external_vcc=False):
        self.addr = addr
        self.external_vcc = external_vcc
        self.fail_writes = 0  # > 0: the next n transactions raise OSError(5) and change nothing
        self.reset()

    # ---- the bus ------------------------------------------------------------------------------
    def scan(self):
        return [self.addr]

    def writeto(self, addr, buf, stop=True):
        self._transaction(addr, (buf,))
        return len(buf)

    def writevto(self, addr, bufs, stop=True):
        self._transaction(addr, bufs)
        return sum(len(b) for b in bufs)

    # ---- the controller -----------------------------------------------------------------------
    def reset(self):
        """Power-on reset state of the chip (datasheet section 10 defaults)."""
        self.gddram = bytearray(1024)
        self.on = False
        self.inverted = False
        self.entire_on = False
        self.contrast = 0x7F
        self.charge_pump = False
        self.mode = PAGE
        self.col_start, self.col_end = 0, 127
        self.page_start, self.page_end = 0, 7
        self.col = 0
        self.page = 0
        self.page_col_start = 0  # page mode: where the column pointer returns at the row end
        self.seg_remap = False
        self.com_reverse = False
        self.start_line = 0
        self.offset = 0
        self.mux = 64
        self.scrolling = False
        self._cmd = None  # command waiting for arguments
        self._args = []
        self.version = 0
        self.reset_counters()

    @property
    def bytes_total(self):
        return self.bytes

    def reset_counters(self):
        self.bytes = 0
        self.data_bytes = 0
        self.cmd_bytes = 0
        self.transactions = 0
        self.errors = 0
        self.commands = 0

    def _transaction(self, addr, bufs):
        if addr != self.addr:
            raise OSError(19)  # ENODEV: nobody acknowledged the address
        if self.fail_writes > 0:
            self.fail_writes -= 1
            raise OSError(5)  # EIO
        self.transactions += 1
        wrote = False
        state = 0  # 0: expect a control byte; 1: one byte of `dc` then a control byte; 2: stream of `dc`
        dc = 0
        for buf in bufs:
            self.bytes += len(buf)
            for b in buf:
                if state == 0:
                    if b & 0x3F:
                        self.errors += 1  # the low six bits of a control byte must be 0
                    dc = b & 0x40
                    state = 1 if b & 0x80 else 2
                    continue
                if dc:
                    self._data(b)
                    wrote = True
                else:
                    self._command(b)
                if state == 1:
                    state = 0
        if wrote:
            self.version += 1

    def _command(self, b):
        self.cmd_bytes += 1
        if self._cmd is not None:
            self._args.append(b)
            if len(self._args) == _nargs(self._cmd):
                cmd, self._cmd = self._cmd, None
                self._apply(cmd, self._args)
                self._args = []
            return
        self.commands += 1
        if _nargs(b):
            self._cmd = b
            self._args = []
        else:
            self._apply(b, None)

    def _apply(self, c, a):
        if c == 0xAE or c == 0xAF:
            self.on = c == 0xAF
        elif c == 0x81:
            self.contrast = a[0]
        elif c == 0xA4 or c == 0xA5:
            self.entire_on = c == 0xA5
        elif c == 0xA6 or c == 0xA7:
            self.inverted = c == 0xA7
        elif c == 0x20:
            if a[0] & 3 == 3:
                self.errors += 1  # invalid mode
            else:
                self.mode = a[0] & 3
        elif c == 0x21:
            self.col_start, self.col_end = a[0] & 0x7F, a[1] & 0x7F
            if self.mode != PAGE:
                self.col = self.col_start
        elif c == 0x22:
            self.page_start, self.page_end = a[0] & 7, a[1] & 7
            if self.mode != PAGE:
                self.page = self.page_start
        elif 0xB0 <= c <= 0xB7:
            if self.mode == PAGE:
                self.page = c & 7
        elif c <= 0x0F:
            if self.mode == PAGE:
                self.page_col_start = (self.page_col_start & 0xF0) | c
                self.col = self.page_col_start
        elif c <= 0x1F:
            if self.mode == PAGE:
                self.page_col_start = (self.page_col_start & 0x0F) | ((c & 0x07) << 4)
                self.col = self.page_col_start
        elif 0x40 <= c <= 0x7F:
            self.start_line = c & 0x3F
        elif c == 0xA0 or c == 0xA1:
            self.seg_remap = c == 0xA1
        elif c == 0xC0 or c == 0xC8:
            self.com_reverse = c == 0xC8
        elif c == 0xD3:
            self.offset = a[0] & 0x3F
        elif c == 0xA8:
            self.mux = (a[0] & 0x3F) + 1
        elif c == 0x8D:
            self.charge_pump = bool(a[0] & 0x04)
        elif c == 0x2F:
            self.scrolling = True
        elif c == 0x2E:
            self.scrolling = False
        elif a is None and c not in (0xE3, 0x26, 0x27, 0x29, 0x2A):
            self.errors += 1  # not an SSD1306 command (0xE3 is its NOP)

    def _data(self, b):
        self.data_bytes += 1
        if self._cmd is not None:  # data while a command waits for its arguments
            self.errors += 1
            self._cmd = None
            self._args = []
        self.gddram[self.page * 128 + self.col] = b
        if self.mode == HORIZONTAL:
            if self.col >= self.col_end:
                self.col = self.col_start
                self.page = self.page_start if self.page >= self.page_end else self.page + 1
            else:
                self.col += 1
        elif self.mode == VERTICAL:
            if self.page >= self.page_end:
                self.page = self.page_start
                self.col = self.col_start if self.col >= self.col_end else self.col + 1
            else:
                self.page += 1
        else:  # page mode: the column wraps to its start, the page stays
            self.col = self.page_col_start if self.col >= 127 else self.col + 1

    # ---- what the panel shows -----------------------------------------------------------------
    def lit(self):
        """True when the panel emits light at all: display on and a supply for the OLED."""
        return self.on and (self.charge_pump or self.external_vcc)

    def pixels(self):
        """The image the panel shows, as 1024 bytes in framebuf.MONO_VLSB layout (byte x + 128 *
        page, bit y % 8), upright as mounted on the usual modules (the driver's segment remap and
        reversed COM scan). Off or unpowered: all dark."""
        out = bytearray(1024)
        if not self.lit():
            return out
        ram = self.gddram
        rows = self.mux
        roll = self.start_line + self.offset
        inv = self.inverted
        if self.entire_on:  # every pixel on, whatever the RAM holds
            for i in range(1024):
                out[i] = 0xFF
            return out
        if self.seg_remap and self.com_reverse and rows == 64 and roll % 64 == 0:
            out[:] = ram  # upright, unrolled: the panel shows GDDRAM as it is
            if inv:
                for i in range(1024):
                    out[i] ^= 0xFF
            return out
        for y in range(rows):
            vy = y if self.com_reverse else rows - 1 - y  # position on the glass, top = 0
            r = (y + roll) % 64
            src = (r >> 3) * 128
            sbit = 1 << (r & 7)
            dst = (vy >> 3) * 128
            dbit = 1 << (vy & 7)
            for x in range(128):
                sx = x if self.seg_remap else 127 - x
                on = ram[src + sx] & sbit
                if (on and not inv) or (not on and inv):
                    out[dst + x] |= dbit
        return out

    def pixel(self, x, y):
        return (self.pixels()[(y >> 3) * 128 + x] >> (y & 7)) & 1

    def rows(self, pix=None):
        """The shown image as 64 rows of 128 values 0/1 (bytearrays)."""
        pix = self.pixels() if pix is None else pix
        out = []
        for y in range(64):
            row = bytearray(128)
            base = (y >> 3) * 128
            bit = 1 << (y & 7)
            for x in range(128):
                if pix[base + x] & bit:
                    row[x] = 1
            out.append(row)
        return out


SSD1306Bus = SimI2C  # the name boards/sim.py uses
