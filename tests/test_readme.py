"""The README's promises hold: its example routine is valid and its commands exist."""
import os
import re
import subprocess
import sys

from conftest import REPO

EXE = os.path.join(os.path.dirname(sys.executable), "holdtimer")


def readme():
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        return f.read()


def test_readme_example_routine_is_valid(tmp_path):
    example = re.search(r"```json\n(.*?)```", readme(), re.S).group(1)
    p = tmp_path / "example.json"
    p.write_text(example)
    r = subprocess.run([EXE, "validate", str(p)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_every_command_in_the_readme_table_has_help():
    for name in re.findall(r"^\| `holdtimer (\w+)", readme(), re.M):
        r = subprocess.run([EXE, name, "--help"], capture_output=True, text=True)
        assert r.returncode == 0 and "usage: holdtimer " + name in r.stdout, name


def test_readme_shows_the_two_commands_and_the_screens_exist():
    text = readme()
    assert "make demo" in text and "make test" in text
    for png in re.findall(r"\((docs/screens/[\w.]+\.png)\)", text):
        assert os.path.exists(os.path.join(REPO, png)), png
