"""docs/compile.md's examples run as written: every `pingji` command of its ```sh blocks, in
order, in one folder (with the doc's erp-sources.yaml in it), then its ```python block over the
data and script those commands made.

The `psql` lines need a PostgreSQL server: the same kind of script is run there by
tests/engine/test_compile_export.py::test_a_script_runs_on_postgresql, which also checks that
the script's results equal `pingji evaluate`'s for every built-in (not repeated here).
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import shlex
from pathlib import Path

from pingji.cli.main import main

DOC = (Path(__file__).resolve().parents[2] / "docs" / "compile.md").read_text("utf-8")


def blocks(kind: str) -> list[str]:
    return re.findall(rf"^```{kind}\n(.*?)^```", DOC, re.S | re.M)


def command_lines() -> list[str]:
    """The doc's shell lines, a continued line joined to the one before."""
    lines = []
    for block in blocks("sh"):
        for line in block.splitlines():
            if line.startswith(" ") and lines:
                lines[-1] += " " + line.strip()
            elif line.strip() and not line.startswith("#"):
                lines.append(line.strip())
    return lines


def test_the_synopsis_names_only_options_compile_has(capsys):
    synopsis = next(line for line in command_lines() if "[" in line)
    assert synopsis.startswith("pingji compile SCHEME --period P")
    with contextlib.suppress(SystemExit):
        main(["compile", "--help"])
    help_text = capsys.readouterr().out
    for option in re.findall(r"--[a-z-]+", synopsis):
        assert option in help_text


def test_the_commands_and_the_python_example_run_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (sources,) = blocks("yaml")
    assert sources.startswith("# erp-sources.yaml\n")
    Path("erp-sources.yaml").write_text(sources, encoding="utf-8")
    ran, other = [], []
    for line in command_lines():
        if "[" in line:
            continue  # the synopsis, checked above
        argv = shlex.split(line)
        if argv[0] != "pingji":
            other.append(argv[0] if "=" not in argv[0] else argv[1])
            continue
        assert main(argv[1:]) == 0, (line, capsys.readouterr().err)
        ran.append(argv[1])
        if "--sources" in argv:  # the script reads the tables the sources file names
            assert '"erp"."kunden"' in Path("rfm.sql").read_text(encoding="utf-8")
    assert ran == ["compile", "compile", "sample-data", "compile"]
    assert set(other) == {"psql"}

    header = Path("composite-2025.sql").read_text(encoding="utf-8").splitlines()[0]
    assert header == (
        "-- pingji compile: scheme customer-composite v1, period 2025 "
        "(2025-01-01 to 2025-12-31), SQL dialect postgres"
    )

    (python,) = blocks("python")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(python, "compile.md", "exec"), {})
    rows = ast.literal_eval(printed.getvalue().strip())
    assert [row[:2] for row in rows] == [
        ("C000001", "2025"),
        ("C000002", "2025"),
        ("C000003", "2025"),
    ]
    assert all(len(row) == 17 for row in rows)  # 13 fixed columns + customer-rfm's 4 outputs
