"""`holdtimer devices`: connected devices (USB 2E8A:0005 and serial number); --info asks each one."""


def add_arguments(p):
    p.add_argument("--port", metavar="P", help="ask the device on this port (any path, e.g. the simulator's link)")
    p.add_argument("--info", action="store_true", help="connect to each device and show what it reports")


def describe(info):
    """One line from a device's hello."""
    batt = info.get("battery", info.get("batt"))
    clock = info.get("clock") or None  # null (or 0 from early firmware): not set since power-up
    up = info.get("uptime_ms", info.get("uptime"))
    parts = [
        "firmware %s" % info.get("fw", "?"),
        "serial %s" % info.get("serial", "?"),
        "battery %s%s" % ("?" if batt is None else "%s%%" % batt, " (USB)" if info.get("usb") else ""),
        "clock %s" % ("not set" if clock is None else _utc(clock)),
        "boot %s" % info.get("boot", "?"),
        "up %s" % _dur(up),
        "free %s" % _size(info.get("free")),
        "session running" if info.get("session") else "idle",
    ]
    return ", ".join(parts)


def _utc(epoch):
    import time

    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


def _dur(ms):
    if not isinstance(ms, int):
        return "?"
    s = ms // 1000
    return "%dh%02dm" % (s // 3600, s // 60 % 60) if s >= 3600 else "%dm%02ds" % (s // 60, s % 60)


def _size(n):
    if not isinstance(n, int):
        return "?"
    return "%d KB" % (n // 1024) if n >= 10240 else "%d bytes" % n


def run(args):
    from holdtimer import devices
    from holdtimer.link import Client

    if args.port:
        port = devices.resolve_port(args.port)
        with Client(port) as c:
            print("%s: %s" % (port, describe(c.hello())))
        return 0
    found = devices.find()
    if not found:
        print("no holdtimer device found (USB 2E8A:0005): plug it in; " + devices.SIM_HINT)
        return 0
    width = max(len(d.port) for d in found)
    for d in found:
        line = "%-*s  serial %s  %s" % (width, d.port, d.serial, d.description)
        if args.info:
            try:
                with Client(d.port) as c:
                    line = "%-*s  %s" % (width, d.port, describe(c.hello()))
            except Exception as e:  # one device not answering does not hide the others
                line += "  (%s)" % e
        print(line)
    return 0
