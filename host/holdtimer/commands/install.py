"""`holdtimer install`: build the firmware with mpy-cross and deploy it with mpremote (docs/install.md).

For a Pico the modules are compiled for armv6m (RP2040; what the SPEC prescribes for every board).
For the simulated device (`holdtimer sim`, whose hello says "board": "sim") they are compiled for
the architecture of the `micropython` command here, since .mpy files with native code (the display
driver uses viper) load only on their own CPU; the simulated board file becomes board.mpy.
"""
import os

BOARDS = ("pico", "pico_w", "pico2", "sim")
VERIFY_S = 15.0  # how long to wait for the restarted device to answer


def add_arguments(p):
    p.add_argument("--port", help="serial port of the device, or the simulator's --link path "
                   "(default: the one connected holdtimer/Pico)")
    p.add_argument("--board", choices=BOARDS, default=None,
                   help="which wiring file becomes board.py (default: what the device says it is, else pico)")
    p.add_argument("--dry-run", action="store_true", help="build, then list what would be copied, copy nothing")
    p.add_argument("--build-dir", default=None, help="where the .mpy files are built (default: a temporary folder)")


def plan_files(board):
    """[(source path, name on the device, compile?)]: firmware modules as .mpy, main.py as source,
    the board's wiring file as board.mpy (and the files it imports)."""
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
    for dep in board_imports(board):  # e.g. pico_w.py builds on pico.py
        files.append((os.path.join(bdir, dep + ".py"), dep + ".mpy", True))
    files.append((os.path.join(bdir, board + ".py"), "board.mpy", True))
    return files


def board_imports(board):
    """The other wiring files (boards/*.py) that `board`'s file imports, directly or not, sorted."""
    import ast

    from holdtimer import fw

    bdir = fw.boards_path()
    have = {n[:-3] for n in os.listdir(bdir) if n.endswith(".py") and n not in ("__init__.py", "sim_main.py")}
    seen, todo = set(), [board]
    while todo:
        with open(os.path.join(bdir, todo.pop() + ".py"), encoding="utf-8") as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            for name in names:
                top = name.split(".")[0]
                if top in have and top != board and top not in seen:
                    seen.add(top)
                    todo.append(top)
    return sorted(seen)


def arch_for(board):
    """mpy-cross -march for a board: armv6m for the Picos, this machine's for the simulator."""
    if board == "sim":
        from holdtimer import simulator

        return simulator.native_arch()
    return "armv6m"


def build(board, out, arch=None):
    """Compile with mpy-cross into `out`; returns [(built file, device name, source file)]."""
    import subprocess

    from holdtimer import simulator
    from holdtimer.errors import UserError

    cmd = simulator.mpy_cross_cmd() + ["-march=" + (arch or arch_for(board))]
    os.makedirs(out, exist_ok=True)
    built, jobs = [], []
    for src, name, compile_ in plan_files(board):
        dst = os.path.join(out, name)
        if compile_:
            jobs.append((src, subprocess.Popen(cmd + ["-o", dst, src], stdout=subprocess.DEVNULL,
                                               stderr=subprocess.PIPE, text=True)))
        else:
            with open(src, "rb") as f, open(dst, "wb") as g:
                g.write(f.read())
        built.append((dst, name, src))
    for src, job in jobs:
        err = job.communicate()[1]
        if job.returncode:
            raise UserError("mpy-cross failed on %s: %s" % (src, (err.strip().splitlines() or ["?"])[-1]))
    return built


def detect(port):
    """What the device on `port` is: (board or None, session running?). Asked of the running app
    (its hello); a device that does not answer (safe mode, the REPL) is asked through mpremote."""
    from holdtimer.errors import UserError
    from holdtimer.link import Client

    try:
        with Client(port, timeout=0.5) as c:
            info = c.hello()
        return info.get("board"), bool(info.get("session"))
    except UserError:
        pass
    import subprocess

    try:
        r = _mpremote(port, ["resume", "exec", "import sys;print('@'+sys.platform+'|'+sys.implementation._machine)"],
                      timeout=30)
    except subprocess.TimeoutExpired:
        return None, False
    for line in r.stdout.splitlines():
        if line.startswith("@"):
            platform, _, machine = line[1:].partition("|")
            if platform == "rp2":
                return ("pico2" if "RP2350" in machine else "pico_w" if "Pico W" in machine else "pico"), False
            if platform in ("linux", "darwin"):
                return "sim", False  # the MicroPython unix port: the simulated device
    return None, False


def _mpremote(port, args, timeout=300, on_line=None):
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "mpremote", "connect", port] + args
    if on_line is None:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = []
    for line in p.stdout:
        out.append(line)
        on_line(line.rstrip("\n"))
    err = p.stderr.read()
    p.wait()
    return subprocess.CompletedProcess(cmd, p.returncode, "".join(out), err)


def deploy_args(built):
    """mpremote's arguments: remove stale .py copies of what is installed as .mpy (MicroPython would
    import a module's .py before its .mpy), copy every file (mpremote skips identical ones), reset."""
    stale = sorted(name[:-4] + ".py" for _, name, _ in built if name.endswith(".mpy"))
    clean = ("import os\nfor n in %r:\n try:\n  os.remove(n)\n except OSError:\n  pass" % (tuple(stale),))
    args = ["exec", clean]
    for path, name, _ in built:
        args += ["+", "fs", "cp", path, ":" + name]
    return args + ["+", "reset"]


def verify(port, deadline_s=VERIFY_S):
    """The restarted device's hello (None if it does not answer in time)."""
    import time

    from holdtimer.errors import UserError
    from holdtimer.link import Client

    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            with Client(port, timeout=0.5) as c:
                return c.hello()
        except UserError:
            time.sleep(0.3)  # a Pico's USB comes back a moment after the reset
    return None


def run(args):
    import shutil
    import tempfile

    from holdtimer.errors import UserError

    port = None
    board = args.board
    session = False
    if not args.dry_run or args.port:
        from holdtimer.devices import resolve_port

        port = resolve_port(args.port)
        if board is None:
            board, session = detect(port)
            if board not in BOARDS:
                board = "pico"
    board = board or "pico"
    if session:
        from holdtimer.link import BUSY

        raise UserError(BUSY)
    out = args.build_dir or tempfile.mkdtemp(prefix="holdtimer-build-")
    try:
        return _install(args, port, board, out)
    finally:
        if not args.build_dir:
            shutil.rmtree(out, ignore_errors=True)


def _install(args, port, board, out):
    import sys

    from holdtimer.errors import UserError

    arch = arch_for(board)
    built = build(board, out, arch)
    total = sum(os.path.getsize(p) for p, _, _ in built)
    if args.dry_run:
        for path, name, src in built:
            rel = os.path.relpath(src)
            print("%-20s %6d bytes  <- %s" % (":" + name, os.path.getsize(path), src if rel.startswith("..") else rel))
        print("%d files, %d bytes for board %s (mpy-cross -march=%s; dry run: nothing copied)" % (len(built), total, board, arch))
        return 0
    print("installing %d files (%d bytes, %s) for board %s on %s ..." % (len(built), total, arch, board, port),
          file=sys.stderr, flush=True)
    done = [0]

    def progress(line):
        if line.startswith("cp "):
            done[0] += 1
            print("  [%2d/%d] :%s" % (done[0], len(built), line.rsplit(":", 1)[-1]), file=sys.stderr, flush=True)

    r = _mpremote(port, deploy_args(built), on_line=progress)
    if r.returncode:
        last = ((r.stderr or r.stdout).strip().splitlines() or ["no output"])[-1]
        hint = ("is the simulator running with its REPL (not --no-repl)?" if board == "sim" else
                "if the app does not let go of the port, hold the button while plugging it in (safe mode)")
        raise UserError("mpremote failed on %s: %s (%s)" % (port, last, hint))
    info = verify(port)
    if info is None:
        raise UserError("installed on %s, but the restarted device does not answer: hold the button while "
                        "plugging it in (safe mode) and run `holdtimer install` again" % port)
    print("installed firmware %s for %s on %s and restarted it (%d files, %d bytes)"
          % (info.get("fw", "?"), board, port, len(built), total))
    return 0
