"""Finding the device: USB serial ports with VID:PID 2E8A:0005 (MicroPython on an RP2040/RP2350).

`resolve_port(args.port)` is what every command that talks to the device calls: an explicit
`--port` (any path, e.g. the simulator's pty symlink, or COM3) is used as given; without one,
HOLDTIMER_PORT is used if set, else exactly one connected device must be found.
"""
import os
import stat

from holdtimer.errors import UserError

VID, PID = 0x2E8A, 0x0005
SIM_HINT = "without a Pico, run `holdtimer sim --link /tmp/holdtimer-link` and add --port /tmp/holdtimer-link"


class Device:
    __slots__ = ("port", "serial", "description")

    def __init__(self, port, serial, description):
        self.port, self.serial, self.description = port, serial, description

    def __repr__(self):
        return "Device(%r, %r)" % (self.port, self.serial)


def find():
    """Connected devices (USB 2E8A:0005), sorted by port."""
    from serial.tools import list_ports  # imported here: `holdtimer --help` stays fast

    found = [Device(p.device, p.serial_number or "?", p.description or "")
             for p in list_ports.comports() if p.vid == VID and p.pid == PID]
    return sorted(found, key=lambda d: d.port)


def resolve_port(port=None):
    """The serial port to use: `port` if given, else $HOLDTIMER_PORT, else the one device found."""
    port = port or os.environ.get("HOLDTIMER_PORT")
    if port:
        if port.startswith("/") and not os.path.exists(port):
            raise UserError("no such port: %s (is the device plugged in, or the simulator running?)" % port)
        check_serial(port)
        return port
    found = find()
    if not found:
        raise UserError("no holdtimer device found (USB 2E8A:0005): plug it in, or give --port; " + SIM_HINT)
    if len(found) > 1:
        raise UserError("several devices found: %s; choose one with --port"
                        % ", ".join("%s (serial %s)" % (d.port, d.serial) for d in found))
    return found[0].port


def check_serial(port):
    """UserError if `port` is a path that exists but cannot be a serial port (a file, a folder)."""
    if os.name == "nt" or not os.path.exists(port):
        return
    try:
        mode = os.stat(port).st_mode
    except OSError:
        return  # opening it says what is wrong
    if not stat.S_ISCHR(mode):
        what = "a folder" if stat.S_ISDIR(mode) else ("a regular file" if stat.S_ISREG(mode) else "not a device")
        raise UserError("%s is not a serial port (it is %s): give the device's port, e.g. /dev/ttyACM0 "
                        "(`holdtimer devices` lists them), or the simulator's link" % (port, what))
