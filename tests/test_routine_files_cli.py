"""Routine files as validate, show and sync take them: the same rules in each (holdtimer.routinefiles).
A folder means its *.json files, a file named twice counts once, and no file is read past the size
limit (/dev/zero is refused, not read until the memory runs out)."""
import os
import shutil

import pytest

from conftest import ROUTINES
from holdtimer import cli
from holdtimer.commands import sync as sync_cmd
from holdtimer.errors import UserError

SEEDS = sorted(os.path.join(ROUTINES, n) for n in os.listdir(ROUTINES) if n.endswith(".json"))
ZERO = "/dev/zero"
needs_dev_zero = pytest.mark.skipif(not os.path.exists(ZERO), reason="no /dev/zero")


def holdtimer(capsys, *argv):
    capsys.readouterr()
    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return rc, out, err


@needs_dev_zero
@pytest.mark.parametrize("command", ["validate", "show"])
def test_dev_zero_is_refused_with_the_right_words(capsys, command):
    rc, out, err = holdtimer(capsys, command, ZERO)
    assert rc == 1
    assert err.strip() == "/dev/zero: file: not a regular file, and larger than the 4096 bytes a routine may have"


@needs_dev_zero
def test_sync_refuses_dev_zero_before_the_device(capsys):
    with pytest.raises(UserError, match="1 error in the routines: nothing was sent"):
        sync_cmd.prepare(sync_cmd.collect([ZERO]))
    assert "/dev/zero: file: not a regular file, and larger than the 4096" in capsys.readouterr().err


def test_a_big_regular_file_says_its_size(tmp_path, capsys):
    p = tmp_path / "big.json"
    p.write_bytes(b" " * 5000)
    for command in ("validate", "show"):
        rc, out, err = holdtimer(capsys, command, str(p))
        assert rc == 1 and err.strip() == ("%s: file: 5000 bytes, more than the 4096 a routine may have "
                                           "(shorten `notes` and `why`)" % p)


def test_the_same_file_twice_is_not_a_duplicate_of_itself(tmp_path, capsys):
    seed = SEEDS[0]
    link = tmp_path / "link.json"
    os.symlink(seed, link)
    rc, out, err = holdtimer(capsys, "validate", seed, seed, str(link))
    assert rc == 0, err
    assert out.count("ok  ") == 1
    items = sync_cmd.prepare(sync_cmd.collect([seed, seed, str(link), ROUTINES]))
    assert sorted(it[3] for it in items) == sorted([seed] + [s for s in SEEDS if s != seed])


def test_a_copy_with_the_same_id_is_still_a_duplicate(tmp_path, capsys):
    copy = tmp_path / "copy.json"
    shutil.copy(SEEDS[0], copy)
    rc, out, err = holdtimer(capsys, "validate", SEEDS[0], str(copy))
    assert rc == 1 and "is also the id of %s" % SEEDS[0] in err


@pytest.mark.parametrize("command", ["validate", "show"])
def test_a_folder_means_its_json_files_as_in_sync(tmp_path, capsys, command):
    for s in SEEDS[:2]:
        shutil.copy(s, tmp_path)
    (tmp_path / "notes.txt").write_text("not a routine")
    rc, out, err = holdtimer(capsys, command, str(tmp_path))
    assert rc == 0, err
    want = [os.path.join(str(tmp_path), os.path.basename(s)) for s in SEEDS[:2]]
    assert [it[3] for it in sync_cmd.prepare(sync_cmd.collect([str(tmp_path)]))] == want
    if command == "validate":
        assert [ln.split()[1] for ln in out.splitlines()] == want
    else:
        assert out.count("\ntotal: ") == 2


@pytest.mark.parametrize("command", ["validate", "show"])
def test_an_empty_folder_is_one_clear_line(tmp_path, capsys, command):
    rc, out, err = holdtimer(capsys, command, str(tmp_path))
    assert rc == 1 and err.strip() == "holdtimer %s: error: no routine files (*.json) in %s" % (command, tmp_path)
