"""A --port that is not a serial port (a regular file, a folder) is one clear line, in every command
that talks to the device, and before anything else is done."""
import os

import pytest

from holdtimer import cli, devices
from holdtimer import link as hostlink
from holdtimer.errors import UserError

COMMANDS = (["devices"], ["sync"], ["pull"])


def run(capsys, argv):
    capsys.readouterr()
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("kind", ["file", "folder"])
@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: a[0])
def test_a_file_or_folder_as_port_is_not_a_serial_port(tmp_path, monkeypatch, capsys, kind, argv):
    monkeypatch.setenv("HOLDTIMER_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # ./routines for sync
    port = tmp_path / "port"
    if kind == "file":
        port.write_text("")
    else:
        port.mkdir()
    rc, out, err = run(capsys, argv + ["--port", str(port)])
    assert rc == 1 and "Traceback" not in err
    want = "%s is not a serial port (it is %s)" % (port, "a regular file" if kind == "file" else "a folder")
    assert want in err and len(err.strip().splitlines()) == 1, err


def test_pyserial_wording_is_translated_when_opened_directly(tmp_path):
    f = tmp_path / "regular"
    f.write_text("")
    for p in (f, tmp_path):
        with pytest.raises(UserError, match="is not a serial port"):
            hostlink.SerialTransport(str(p))


def test_a_pty_is_accepted(tmp_path):
    master, slave = os.openpty()
    try:
        name = os.ttyname(slave)
        link = tmp_path / "link"
        os.symlink(name, link)
        assert devices.resolve_port(str(link)) == str(link)
    finally:
        os.close(master)
        os.close(slave)
