"""Compiled plans are kept and reused: per process and on disk, keyed by everything they
depend on; a run whose plan is known loads neither Ibis nor the scheme parser."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pingji.data import open_dataset
from pingji.engine import compile as compiler
from pingji.engine import evaluate
from pingji.engine.frozen import PLANS, FrozenPlan
from pingji.templates import resolve_scheme
from pingji.templates.sample import generate


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("PINGJI_CACHE_DIR", str(folder))
    PLANS.clear()
    yield folder / "plans"
    PLANS.clear()


@pytest.fixture
def data(tmp_path) -> Path:
    folder = tmp_path / "data"
    generate("customer-composite", folder, entities=20, seed=1)
    return folder


def count_compiles(monkeypatch) -> list[str]:
    seen: list[str] = []
    original = compiler.compile_plan

    def counting(rs, *args, **kwargs):
        seen.append(rs.id)
        return original(rs, *args, **kwargs)

    monkeypatch.setattr(compiler, "compile_plan", counting)
    return seen


def test_a_second_evaluation_reuses_the_plan(cache, data, monkeypatch):
    compiled = count_compiles(monkeypatch)
    rs = resolve_scheme("customer-composite")
    first = evaluate(rs, open_dataset(data), "2025").table.to_pylist()
    second = evaluate(rs, open_dataset(data), "2025").table.to_pylist()
    assert compiled == ["customer-composite"]
    assert first == second
    stored = list(cache.glob("*.json"))
    assert len(stored) == 1
    plan = FrozenPlan.from_json(stored[0].read_text(encoding="utf-8"))
    assert plan.dialect == "duckdb" and plan.period == "2025" and plan.steps


def test_what_a_plan_depends_on_makes_a_new_one(cache, data, monkeypatch):
    compiled = count_compiles(monkeypatch)
    rs = resolve_scheme("customer-composite")
    evaluate(rs, open_dataset(data), "2025")
    evaluate(rs, open_dataset(data), "2024")  # another period
    evaluate(resolve_scheme("credit-rating"), open_dataset(data), "2025-Q4")  # another scheme
    # the same data with a column more: the tables' shape is part of the key
    lines = (data / "customers.csv").read_text(encoding="utf-8").splitlines()
    lines = [lines[0] + ",note"] + [line + ",x" for line in lines[1:]]
    (data / "customers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    evaluate(rs, open_dataset(data), "2025")
    assert len(compiled) == 4


def test_a_damaged_cache_file_is_compiled_again(cache, data, monkeypatch):
    rs = resolve_scheme("customer-composite")
    want = evaluate(rs, open_dataset(data), "2025").table.to_pylist()
    for f in cache.glob("*.json"):
        f.write_text(json.dumps({"format": 1, "key": "x"}), encoding="utf-8")
    PLANS.clear()
    compiled = count_compiles(monkeypatch)
    assert evaluate(rs, open_dataset(data), "2025").table.to_pylist() == want
    assert compiled == ["customer-composite"]


def test_no_cache_folder_means_memory_only(tmp_path, data, monkeypatch):
    monkeypatch.setenv("PINGJI_CACHE_DIR", "off")
    PLANS.clear()
    evaluate(resolve_scheme("customer-composite"), open_dataset(data), "2025")
    assert not list(tmp_path.rglob("plans"))


def test_a_repeated_command_loads_neither_ibis_nor_the_scheme_parser(cache, data, tmp_path):
    """The second process finds the scheme's digest and the plan on disk: it imports no Ibis,
    no pydantic and no YAML parser — and no pandas, which DuckDB loads for a query with bound
    parameters (0.8 s) — and writes the same file."""
    env = {**os.environ, "PINGJI_CACHE_DIR": str(cache.parent)}
    probe = (
        "import sys; from pingji.cli.main import main; code = main(sys.argv[1:]); "
        "print(sorted(m for m in ('ibis', 'pandas', 'pydantic', 'ruamel.yaml') "
        "if m in sys.modules)); "
        "sys.exit(code)"
    )
    outs = []
    for i in (1, 2):
        out = tmp_path / f"r{i}.csv"
        args = ["evaluate", "customer-composite", "--data", str(data), "--period", "2025"]
        done = subprocess.run(
            [sys.executable, "-c", probe, *args, "-f", "csv", "-o", str(out)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        outs.append((done.stdout.strip(), out.read_bytes()))
    assert outs[0][0] == "['ibis', 'pydantic', 'ruamel.yaml']"
    assert outs[1][0] == "[]"
    assert outs[0][1] == outs[1][1]


def test_a_reused_plan_names_the_file_of_the_data_it_runs_on(cache, data, tmp_path, monkeypatch):
    """One plan serves every folder whose tables have the same shapes: a guard's error names
    the file of the folder evaluated, not that of the folder the plan was compiled for."""
    import shutil

    from pingji.errors import DataError

    compiled = count_compiles(monkeypatch)
    rs = resolve_scheme("customer-composite")
    bad_grade, bad_score = tmp_path / "bad-grade", tmp_path / "bad-score"
    shutil.copytree(data, bad_grade)
    shutil.copytree(data, bad_score)
    (bad_grade / "overrides.csv").write_text(
        "entity_id,period,grade,reason,set_by\nC000001,2025,Z,by hand,王经理\n", encoding="utf-8"
    )
    with (bad_score / "ratings.csv").open("a", encoding="utf-8") as f:
        f.write("C000002,2025,manager_rating,500,某人,销售部\n")
    lines = (bad_score / "ratings.csv").read_text(encoding="utf-8").splitlines()
    evaluate(rs, open_dataset(data), "2025")  # clean: compiles the plan
    with pytest.raises(DataError) as grade:
        evaluate(rs, open_dataset(bad_grade), "2025")
    assert Path(grade.value.file) == bad_grade / "overrides.csv"
    assert grade.value.row == 2 and grade.value.value == "Z"
    with pytest.raises(DataError) as score:
        evaluate(rs, open_dataset(bad_score), "2025")
    assert Path(score.value.file) == bad_score / "ratings.csv"
    assert score.value.row == len(lines) and score.value.value == 500
    assert compiled == ["customer-composite"]  # the same plan each time
