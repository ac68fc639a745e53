"""The simulated device on virtual time: a scripted run is the same at any --speed (cues, motor,
gestures, screens and the log's bytes), and `holdtimer sim --link` never deletes what is not its own."""
import hashlib
import os
import subprocess
import sys

import pytest

import simdevice as sd
from holdtimer import simulator
from holdtimer.errors import UserError

SEEDS = sd.seeds()
EXE = os.path.join(os.path.dirname(sys.executable), "holdtimer")
RID = "hamstring-lower-back"  # 535 s, no press-when-done set: nothing but the script moves it
# start, pause, resume, skip, mark discomfort: every kind of press in one session
SCRIPT = [(0.5, "long"), (40, "short"), (47.3, "short"), (100, "double"), (150.2, "triple")]


def _trace(sim):
    """Everything the device did except the screens' pixels (hashed instead)."""
    out = []
    for e in sim.events:
        if e.kind == "F":
            out.append(("F", e.ms, hashlib.sha1(e.data).hexdigest()))
        elif e.kind in ("C", "M", "P", "X"):
            out.append((e.kind, e.ms, e.name, e.data))
    return out


def _run(tmp_path, speed, clock):
    fs = str(tmp_path / ("flash-%s-%g" % (clock, speed)))
    sd.flash_with(fs, [(RID, SEEDS[RID][1])])
    sim = simulator.Simulator(fs, speed=speed, script=SCRIPT, heap_kb=192, exit_when_done=True, clock=clock)
    sim.start()
    try:
        rc = sim.wait(120)
    finally:
        sim.stop()
    assert rc == 0, "".join(sim.stderr)[-2000:]
    return sim, sd.log_bytes(fs)  # the bytes but the session's random uid


@pytest.mark.parametrize("clock", ["script", "virtual"])
def test_a_scripted_run_is_identical_at_speed_1_10_400_and_1000(tmp_path, clock):
    runs = [_run(tmp_path, speed, clock) for speed in (1, 10, 400, 1000)]
    sim, log = runs[0]
    gs = sd.gestures(sim)
    assert [g for g, _at in gs] == ["long", "short", "short", "double", "triple"]
    names = [c[0] for c in sd.cues(sim)]
    for n in ("paused", "resumed", "skipped", "discomfort", "done"):
        assert n in names
    assert sd.late(sim) == [] and sd.motor(sim) == sd.felt(sd.cues(sim))
    for other, other_log in runs[1:]:
        assert _trace(other) == _trace(sim)
        assert other_log == log


def test_sim_command_at_speed_400_takes_a_scripted_long_press_as_long(tmp_path):
    """The reported bug: at --speed 400 the 1.3 s press of `1 long` was decoded as a short one, so
    the session never started. The command's output and log are the same at 1 and 400."""
    script = tmp_path / "press.txt"
    script.write_text("1 long\n30 short\n31 short\n")
    outs = []
    for speed in ("1", "400"):
        fs = str(tmp_path / ("flash" + speed))
        sd.flash_with(fs, [(RID, SEEDS[RID][1])])
        r = subprocess.run([EXE, "sim", "--fs", fs, "--speed", speed, "--script", str(script), "--headless",
                            "--exit-when-done", "--heap", "192"], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert "gesture      long" in r.stdout and "session_end  done" in r.stdout, r.stdout[-2000:]
        outs.append((r.stdout, sd.log_bytes(fs)))
    assert outs[0] == outs[1]


def test_speed_out_of_range_is_refused_with_the_range(tmp_path):
    for bad in ("0", "-1", "1001", "nan", "inf"):
        r = subprocess.run([EXE, "sim", "--fs", str(tmp_path / "f"), "--speed", bad, "--headless"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode != 0 and "Traceback" not in r.stderr
        assert "from 0.01 to 1000" in r.stderr, r.stderr
    r = subprocess.run([EXE, "sim", "--help"], capture_output=True, text=True, timeout=60)
    assert "0.01 to 1000" in " ".join(r.stdout.split())


# -- --link -------------------------------------------------------------------------------------
def _sim_cli(tmp_path, link, *extra):
    env = dict(os.environ, TMPDIR=str(tmp_path / "tmp"))
    os.makedirs(env["TMPDIR"], exist_ok=True)
    return subprocess.run([EXE, "sim", "--fs", str(tmp_path / "flash"), "--link", link, "--headless", "--no-repl"]
                          + list(extra), capture_output=True, text=True, timeout=60, env=env)


def test_link_refuses_an_existing_regular_file_and_keeps_it(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("mine")
    r = _sim_cli(tmp_path, str(path))
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "exists and is not a holdtimer sim link" in r.stderr, r.stderr
    assert path.read_text() == "mine"
    assert os.listdir(tmp_path / "tmp") == []  # no temporary folder left behind


def test_link_refuses_a_symlink_to_something_else(tmp_path):
    target = tmp_path / "target"
    target.write_text("x")
    os.symlink(str(target), str(tmp_path / "l"))
    with pytest.raises(UserError, match="not a holdtimer sim link"):
        simulator.check_link(str(tmp_path / "l"))
    assert os.readlink(str(tmp_path / "l")) == str(target)


def test_link_to_a_folder_or_into_a_missing_folder_is_a_clear_message(tmp_path):
    r = _sim_cli(tmp_path, str(tmp_path))
    assert r.returncode != 0 and "Traceback" not in r.stderr and "is a folder" in r.stderr, r.stderr
    r = _sim_cli(tmp_path, str(tmp_path / "missing" / "link"))
    assert r.returncode != 0 and "Traceback" not in r.stderr and "does not exist" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert os.listdir(tmp_path / "tmp") == []


def test_a_second_sim_on_the_same_link_is_refused_and_the_first_keeps_it(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    os.makedirs(str(tmp_path / "tmp"))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    link = str(tmp_path / "link")
    first = simulator.Simulator(str(tmp_path / "flash1"), link=link, clock="virtual").start()
    try:
        port = os.readlink(link)
        r = subprocess.run([EXE, "sim", "--fs", str(tmp_path / "flash2"), "--link", link, "--headless", "--no-repl"],
                           capture_output=True, text=True, timeout=60, env=dict(os.environ, TMPDIR=str(tmp_path / "tmp")))
        assert r.returncode != 0 and "Traceback" not in r.stderr
        assert "is the link of another running sim (pid %d)" % os.getpid() in r.stderr, r.stderr
        assert os.readlink(link) == port and first.running()
    finally:
        first.stop()
    assert not os.path.lexists(link)
    assert os.listdir(str(tmp_path / "tmp")) == []


def test_a_stale_link_of_an_ended_sim_is_replaced(tmp_path):
    link = str(tmp_path / "link")
    os.symlink("/dev/pts/999999", link)  # left by a sim that was killed
    simulator.check_link(link)  # no error: it is replaced
    sim = simulator.Simulator(str(tmp_path / "flash"), link=link, clock="virtual").start()
    try:
        assert os.readlink(link) == sim.port
    finally:
        sim.stop()
    assert not os.path.lexists(link)


def test_stop_does_not_remove_a_link_another_sim_made_since(tmp_path):
    link = str(tmp_path / "link")
    sim = simulator.Simulator(str(tmp_path / "flash"), link=link, clock="virtual").start()
    os.remove(link)
    os.symlink("/dev/pts/999998", link)  # someone else's now
    sim.stop()
    assert os.readlink(link) == "/dev/pts/999998"


# -- the terminal view ---------------------------------------------------------------------------
def test_the_terminal_view_fits_80_columns(tmp_path):
    from holdtimer.commands import sim as simcmd

    fs = str(tmp_path / "flash")
    sd.flash_with(fs, [(RID, SEEDS[RID][1])])
    sim = sd.start(fs, script=[(0.5, "long")], exit_when_done=True, heap_kb=192)
    try:
        sim.wait(120)
    finally:
        sim.stop()
    frame = [e for e in sim.frames() if any(e.data)][-1]
    view = simcmd._View(True, None, False)
    view.last_cue = "cue hold_end 1073723124 37 and a very long tail " * 3
    text = view.screen(frame, columns=80)
    lines = text.splitlines()
    assert all(len(line) <= 79 for line in lines), max(len(line) for line in lines)
    assert any(ch != "\u2800" for line in lines[:16] for ch in line)  # the frame is drawn
    # the braille rendering keeps every pixel
    rows = simulator.frame_to_rows(frame.data)
    for y in range(64):
        for x in range(128):
            cell = ord(lines[y // 4][x // 2]) - 0x2800
            bit = dict(((dx, dy), b) for dx, dy, b in simulator._BRAILLE)[(x % 2, y % 4)]
            assert bool(cell & bit) == bool(rows[y][x])
    wide = view.screen(frame, columns=200).splitlines()
    assert len(wide[0]) == 128


def test_the_device_reports_the_simulated_flash_not_the_pcs_disk(tmp_path):
    import re

    link = str(tmp_path / "link")
    fs = tmp_path / "flash"
    sim = simulator.Simulator(str(fs), link=link, heap_kb=192, flash_kb=simulator.PICO_FLASH_KB).start()
    try:
        r = subprocess.run([EXE, "devices", "--port", link, "--info"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        free_kb = int(re.search(r"free (\d+) KB", r.stdout).group(1))
        assert 1300 <= free_kb <= 1408, r.stdout  # a Pico's 1408 KB filesystem, less what is on it
        (fs / "big.bin").write_bytes(b"\0" * 100 * 1024)
        r = subprocess.run([EXE, "devices", "--port", link, "--info"], capture_output=True, text=True, timeout=60)
        assert int(re.search(r"free (\d+) KB", r.stdout).group(1)) == free_kb - 100, r.stdout
    finally:
        sim.stop()


def test_exit_when_done_ends_a_run_whose_session_can_never_end(tmp_path):
    """A crash cuts the session: the device restarts into the resume offer, nothing scripted is
    left, so --exit-when-done powers it off (status 3) instead of idling on virtual time forever."""
    fs = str(tmp_path / "flash")
    sd.flash_with(fs, [(RID, SEEDS[RID][1])])
    sim = sd.start(fs, script=[(0.5, "long"), (30, "crash")], exit_when_done=True, heap_kb=192)
    try:
        rc = sim.wait(60)
    finally:
        sim.stop()
    assert rc == 3
    assert any(e.kind == "X" and e.name == "idle" for e in sim.events)
    assert "no session is running" in "".join(sim.stderr)


def test_a_script_of_one_long_press_stays_on_virtual_time_for_the_whole_session(tmp_path):
    """clock "script" (the CLI's): the session started by `1 long` runs free to its end even at
    speed 1 (the clock is paced only once the script is over and no session runs)."""
    fs = str(tmp_path / "flash")
    sd.flash_with(fs, [(RID, SEEDS[RID][1])])
    sim = simulator.Simulator(fs, speed=1, script=[(1, "long")], exit_when_done=True, clock="script").start()
    try:
        rc = sim.wait(60)  # 535 s of device time
    finally:
        sim.stop()
    assert rc == 0 and [e.data.split()[0] for e in sim.cues() if e.name == "session_end"] == ["done"]


def test_a_scripted_session_left_paused_ends_the_run_with_a_message_not_a_hang(tmp_path):
    # `1 long` starts, `30 short` pauses, and nothing resumes: virtual time must not run forever.
    script = tmp_path / "press.txt"
    script.write_text("1 long\n30 short\n")
    fs = str(tmp_path / "flash")
    sd.flash_with(fs, [(RID, SEEDS[RID][1])])
    r = subprocess.run([EXE, "sim", "--fs", fs, "--speed", "400", "--script", str(script), "--headless",
                        "--exit-when-done", "--heap", "192"], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "the session waits for a press" in r.stderr, r.stderr[-1000:]
    assert "Traceback" not in r.stderr
