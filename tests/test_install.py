"""`holdtimer install` and mpremote against the simulated device: its link gives MicroPython's REPL
like a Pico's USB serial (Ctrl-C stops the app, raw REPL, soft and hard reset), and after an install
it boots the firmware from its flash."""
import glob
import os
import subprocess
import sys
import time

import simdevice as sd
from holdtimer import fw, simulator
from holdtimer.commands.install import board_imports

EXE = os.path.join(os.path.dirname(sys.executable), "holdtimer")


def cli(env, *args, timeout=180):
    r = subprocess.run([EXE] + list(args), capture_output=True, text=True, env=env, timeout=timeout)
    assert "Traceback" not in r.stderr, r.stderr
    return r


def mpremote(link, *args, timeout=60):
    return subprocess.run([sys.executable, "-m", "mpremote", "connect", link] + list(args),
                          capture_output=True, text=True, timeout=timeout)


def firmware_modules():
    return sorted(n[:-3] for n in os.listdir(fw.path()) if n.endswith(".py") and n not in ("__init__.py", "main.py"))


def listed(stdout):
    return [line.split()[0][1:] for line in stdout.splitlines() if line.startswith(":")]


def test_dry_run_lists_every_firmware_module_as_mpy_with_main_py_and_board_mpy(tmp_path):
    env = dict(os.environ, HOLDTIMER_HOME=str(tmp_path / "home"))
    r = cli(env, "install", "--dry-run", "--build-dir", str(tmp_path / "build"))
    assert r.returncode == 0, r.stderr
    names = listed(r.stdout)
    assert sorted(names) == sorted([m + ".mpy" for m in firmware_modules()] + ["main.py", "board.mpy"])
    assert "armv6m" in r.stdout and "nothing copied" in r.stdout
    for n in names:  # really built, by mpy-cross for the RP2040
        data = (tmp_path / "build" / n).read_bytes()
        if n.endswith(".mpy"):
            assert data[:1] == b"M" and data[2] >> 2 in (0, simulator.ARCHS.index("armv6m")), n

    r = cli(env, "install", "--dry-run", "--board", "pico_w")
    assert r.returncode == 0 and {"pico.mpy", "board.mpy"} <= set(listed(r.stdout))
    assert board_imports("pico_w") == board_imports("pico2") == ["pico"] and board_imports("pico") == []
    r = cli(env, "install", "--dry-run", "--board", "sim")
    assert r.returncode == 0, r.stderr
    assert sorted(listed(r.stdout)) == sorted([m + ".mpy" for m in firmware_modules() + board_imports("sim")]
                                              + ["main.py", "board.mpy"])
    assert simulator.native_arch() in r.stdout


def test_ctrl_c_on_the_link_gives_the_repl_and_mpremote_works_then_reset_restarts_the_app(tmp_path):
    link = str(tmp_path / "link")
    sim = simulator.Simulator(str(tmp_path / "flash"), link=link, speed=1, heap_kb=192, repl=True).start()
    try:
        sim.wait_for(lambda e: e.kind == "C" and e.name == "boot", 30)
        r = mpremote(link, "exec", "import os; print('cwd', os.getcwd())")  # Ctrl-C, raw REPL, soft reset
        assert r.returncode == 0, r.stdout + r.stderr
        assert "cwd %s" % os.path.realpath(sim.fs) in r.stdout
        assert [b[:2] for b in sim.boots] == [("app", "repo"), ("repl", "repo"), ("repl", "repo")]
        r = mpremote(link, "resume", "exec", "print(6 * 7)")  # the device stays in the REPL
        assert r.returncode == 0 and "42" in r.stdout, r.stdout + r.stderr
        assert len(sim.boots) == 3
        r = mpremote(link, "resume", "reset")  # machine.reset(): reboots into main.py
        assert r.returncode == 0, r.stdout + r.stderr
        assert sim.wait_boot(4, 30) and sim.boots[3][0] == "app" and sim.boots[3][2] == "machine.reset()"
        r = mpremote(link, "exec", "print('up')")  # at once: its Ctrl-C reaches the booting device
        assert r.returncode == 0 and "up" in r.stdout, r.stdout + r.stderr
        assert sim.boots[4][0] == "repl", sim.boots
        r = mpremote(link, "reset")
        assert r.returncode == 0, r.stdout + r.stderr
        sim.wait_for(lambda e: e.kind == "C" and e.name == "boot" and e.data.startswith("3 "), 30)
        env = dict(os.environ, HOLDTIMER_HOME=str(tmp_path / "home"))
        r = cli(env, "devices", "--port", link)
        assert r.returncode == 0 and "boot 3" in r.stdout, r.stdout + r.stderr
        assert sim.running() and sim.boots[-1] == ("app", "repo", "machine.reset()")
    finally:
        sim.stop()


def test_install_onto_the_running_sim_then_it_boots_the_firmware_on_its_flash(tmp_path):
    env = dict(os.environ, HOLDTIMER_HOME=str(tmp_path / "home"))
    link = str(tmp_path / "link")
    fs = str(tmp_path / "flash")
    sim = sd.start(fs, link=link, speed=100, heap_kb=192, repl=True)
    try:
        sim.wait_for(lambda e: e.kind == "C" and e.name == "boot", 30)
        r = cli(env, "install", "--port", link)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "for sim on %s" % link in r.stdout, r.stdout
        # the flash holds the firmware as a Pico's does, built for this machine's micropython
        want = [m + ".mpy" for m in firmware_modules() + board_imports("sim")] + ["main.py", "board.mpy"]
        for n in want:
            assert os.path.isfile(os.path.join(fs, n)), n
        with open(os.path.join(fs, "app.mpy"), "rb") as f:
            assert f.read(1) == b"M"
        kind, firmware, why = sim.boots[-1]
        assert (kind, firmware, why) == ("app", "flash", "machine.reset()"), sim.boots

        # the installed firmware works: sync, a session, pull
        r = cli(env, "sync", "--port", link, os.path.join(sd.REPO, "routines", "king-hip-hamstring.json"))
        assert r.returncode == 0 and "sent 1" in r.stdout, r.stdout + r.stderr
        sim.press("long")
        sim.wait_for(lambda e: e.kind == "C" and e.name == "session_end", 120)
        r = cli(env, "pull", "--port", link)
        assert r.returncode == 0 and "pulled 1 new session" in r.stdout, r.stdout + r.stderr

        # what boots is what is on the flash: a main.py put there runs after a reset
        with open(os.path.join(fw.path(), "main.py")) as f:
            main = f.read()
        with open(os.path.join(fs, "main.py"), "w") as f:
            f.write("import board\nboard.trace('flash_main')\n" + main)
        n = len(sim.boots)
        r = mpremote(link, "reset")
        assert r.returncode == 0, r.stdout + r.stderr
        assert sim.wait_boot(n + 3, 30), sim.boots  # Ctrl-C -> REPL, soft reset (raw), reset -> app
        sim.wait_for(lambda e: e.kind == "C" and e.name == "flash_main", 30)
        assert sim.boots[-1] == ("app", "flash", "machine.reset()")
        r = cli(env, "sync", "--port", link, os.path.join(sd.REPO, "routines", "king-hip-hamstring.json"))
        assert r.returncode == 0 and "nothing changed" in r.stdout, r.stdout + r.stderr

        # a second install copies only what changed (mpremote compares hashes); main.py is back
        t = time.monotonic()
        r = cli(env, "install", "--port", link)
        assert r.returncode == 0, r.stdout + r.stderr
        with open(os.path.join(fs, "main.py")) as f:
            assert f.read() == main
        assert time.monotonic() - t < 60
    finally:
        sim.stop()
    assert not [p for p in glob.glob(os.path.join(fs, "*.py")) if not p.endswith("main.py")]


def test_sim_can_be_told_to_ignore_the_installed_firmware(tmp_path):
    fs = tmp_path / "flash"
    fs.mkdir()
    (fs / "main.py").write_text("raise SystemExit(7)\n")  # a broken install
    sim = simulator.Simulator(str(fs), heap_kb=192, firmware="repo").start()
    try:
        sim.wait_for(lambda e: e.kind == "C" and e.name == "boot", 30)
        assert sim.boots == [("app", "repo", "power-up")]
    finally:
        sim.stop()
    sim = simulator.Simulator(str(fs), heap_kb=192).start()
    try:
        assert sim.wait(30) == 7 and sim.boots == [("app", "flash", "power-up")]
    finally:
        sim.stop()
