"""The README's Python section, run exactly as written (so it cannot drift)."""

import re
import subprocess
import sys

from conftest import REPO


def readme_section(title):
    text = (REPO / "README.md").read_text()
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, re.S | re.M)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def test_install_command_is_the_package_folder():
    shell = re.findall(r"```sh\n(.*?)```", readme_section("Python"), re.S)
    assert shell and shell[0].split("#")[0].split() == ["pip", "install", "./python"]
    assert (REPO / "python" / "pyproject.toml").is_file()


def test_rerank_example_runs_as_written():
    examples = re.findall(r"```python\n(.*?)```", readme_section("Python"), re.S)
    assert len(examples) == 1, "one example in the Python section"
    done = subprocess.run([sys.executable, "-c", examples[0]], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3, done.stdout
    rows = [re.fullmatch(r"(\d)\. (.+?) +fit +([\d.]+)  (fits|unsure|clashes) +raw +-?[\d.]+", l) for l in lines]
    assert all(rows), done.stdout
    assert [int(r.group(1)) for r in rows] == [1, 2, 3]
    assert sorted(r.group(2) for r in rows) == sorted(["original", "late by 1/3 s", "reversed"])
    fits = [float(r.group(3)) for r in rows]
    assert fits == sorted(fits, reverse=True), "best first"
