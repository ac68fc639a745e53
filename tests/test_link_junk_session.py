"""Junk on the USB serial port during a session (issue 9): text lines that are not requests, and
broken requests, in bursts, at the 96 KB heap. The session must go on to its end, every step logged,
with no crash and no restart."""
import os
import time

import serial

import simdevice as sd

SEEDS = sd.seeds()


def test_bursts_of_text_lines_on_the_link_during_a_session_do_not_stop_it(tmp_path):
    rid = "easy-hamstring"
    fs = str(tmp_path / "flash")
    sd.flash_with(fs, [(rid, SEEDS[rid][1])])
    link = str(tmp_path / "link")
    sim = sd.start(fs, link=link, speed=20, heap_kb=96, exit_when_done=True)
    try:
        sim.press("long")
        sim.wait_for(lambda e: e.kind == "C" and e.name == "session_start", 30)
        port = serial.Serial(link, timeout=0.2)
        try:
            for k in range(6):  # 160 bytes of short lines per write, as found; then broken requests
                port.write(b"x\n" * 80)
                port.write(b">" + b"y" * 700 + b"\n" + b">1 ls 0 00000000\n" + b"\xff\xfe\n")
                port.flush()
                time.sleep(0.3)
                port.read(4096)  # whatever the device answered (the broken requests' errors)
        finally:
            port.close()
        sim.press_pending()
        try:
            end = sim.wait_for(lambda e: e.kind == "C" and e.name == "session_end", 120)
        except TimeoutError:
            raise AssertionError([(e.name, e.data) for e in sim.cues() if e.name != "cue"][-30:])
    finally:
        sim.stop()
    assert end.data.split()[0] == "done", [e.data for e in sim.cues() if e.name != "cue"]
    names = [e.name for e in sim.cues()]
    assert "crash" not in names and names.count("boot") == 1, [e for e in sim.cues() if e.name != "cue"]
    (name, log), = sd.logs(fs)
    assert log["end"] == "done" and len(log["steps"]) == sd.plan.count(SEEDS[rid][0])
