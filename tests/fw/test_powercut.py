"""A power cut at every flash write of every storage operation, LittleFS as on the Pico
(tests/fw/powercut.py): the flash mounts again, nothing committed is lost, a routine is old or new,
and the device boots and carries on. MicroPython only: skipped on CPython."""
import powercut


def _cut(name):
    if powercut.vfs is None:  # CPython has no LittleFS: tests/test_fw_micropython.py runs these
        try:
            import pytest

            pytest.skip("needs MicroPython's vfs.VfsLfs2")
        except ImportError:
            return
    fails = []
    ops, _erases, trials, _logs = powercut.run_op(name, fails=fails)
    print("power cuts:", name, "ops", ops, "cuts", trials)
    assert trials == 3 * ops and ops > 0, (ops, trials)
    assert not fails, "%d failures: %s" % (len(fails), "\n".join(fails[:10]))


def test_power_cut_during_a_log_append_loses_no_committed_record():
    _cut("log append")


def test_power_cut_during_the_end_record():
    _cut("session end")


def test_power_cut_while_a_session_log_is_created():
    _cut("session start")


def test_power_cut_during_a_routine_replacement_leaves_old_or_new_never_a_mix():
    _cut("routine replace")


def test_power_cut_while_a_new_routine_is_written():
    _cut("routine add")


def test_power_cut_while_a_log_is_confirmed_pulled():
    _cut("log confirm")


def test_power_cut_while_pulled_logs_are_deleted_for_room():
    _cut("log delete")


def test_power_cut_while_a_torn_tail_is_cut_off():
    _cut("torn-tail trim")


def test_power_cut_while_booting():
    _cut("boot")


def test_power_cut_while_a_crash_is_logged():
    _cut("crash log")


def test_power_cut_anywhere_in_a_whole_session():
    _cut("whole session")
