"""`pingji compile`: the exported script, run on plain DuckDB over raw sample tables, gives
exactly `pingji evaluate`'s results — for every built-in."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pingji.cli.main import main
from pingji.data import open_dataset
from pingji.engine import evaluate
from pingji.engine.export import OPTIONAL, export_script
from pingji.periods import Period
from pingji.templates import resolve_scheme
from pingji.templates.sample import SAMPLE_PERIODS, generate


def statements(script: str) -> list[str]:
    """Split a script into its statements (each ends with ';' and a blank line)."""
    return [s for s in script.rstrip().rstrip(";").split(";\n\n") if s.strip()]


def run_script(script: str, folder: Path, typed: bool) -> tuple[list[str], list[tuple]]:
    """Load the folder's CSV files as raw tables (all text, or typed by DuckDB's reader) into
    a fresh DuckDB, run the script, return the last statement's columns and rows."""
    con = duckdb.connect()
    for path in sorted(folder.glob("*.csv")):
        reader = "read_csv_auto(?)" if typed else "read_csv(?, all_varchar = true)"
        con.execute(f'CREATE TABLE "{path.stem}" AS SELECT * FROM {reader}', [str(path)])
    *setup, last = statements(script)
    for sql in setup:
        con.execute(sql)
    cur = con.execute(last)
    return [d[0] for d in cur.description], cur.fetchall()


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=0, abs_tol=1e-9) or (math.isnan(a) and math.isnan(b))
    return a == b


@pytest.mark.parametrize("name", sorted(SAMPLE_PERIODS))
def test_the_script_gives_evaluates_results_for_every_builtin(tmp_path, name):
    folder = tmp_path / "data"
    generate(name, folder, entities=40, seed=3)
    rs = resolve_scheme(name)
    period = Period.parse(SAMPLE_PERIODS[name], rs.scheme.period)
    expected = evaluate(rs, open_dataset(folder), period).shaped("text")
    present = [n for n in OPTIONAL if (folder / f"{n}.csv").exists()]
    script = export_script(rs, period, "duckdb", present=present)
    # raw text tables for half the built-ins, tables typed by DuckDB's CSV reader for the rest
    typed = sorted(SAMPLE_PERIODS).index(name) % 2 == 1
    columns, rows = run_script(script, folder, typed)
    assert columns == expected.column_names
    want = [tuple(r.values()) for r in expected.to_pylist()]
    assert len(rows) == len(want) == expected.num_rows > 0
    for got, exp in zip(rows, want, strict=True):
        diff = [c for c, x, y in zip(columns, got, exp, strict=True) if not same(x, y)]
        assert not diff, (got[0], [(c, got[columns.index(c)], exp[columns.index(c)]) for c in diff])


def test_the_script_reads_the_names_a_sources_file_gives(tmp_path):
    folder = tmp_path / "data"
    generate("customer-rfm", folder, entities=30, seed=5)
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "customers: {table: erp.kunden, columns: {customer_id: kid}}\n"
        "sales: {table: erp.verkauf, columns: {customer_id: kid, amount: betrag}}\n",
        encoding="utf-8",
    )
    out = tmp_path / "rfm.sql"
    code = main(
        [
            "compile",
            "customer-rfm",
            "--period",
            "2025",
            "--sources",
            str(sources),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    script = out.read_text(encoding="utf-8")
    assert 'FROM "erp"."kunden"' in script and 'CAST("betrag" AS TEXT)' in script
    con = duckdb.connect()
    con.execute("CREATE SCHEMA erp")
    con.execute(
        "CREATE TABLE erp.kunden AS SELECT customer_id AS kid, * EXCLUDE (customer_id) "
        "FROM read_csv(?, all_varchar = true)",
        [str(folder / "customers.csv")],
    )
    con.execute(
        "CREATE TABLE erp.verkauf AS SELECT customer_id AS kid, amount AS betrag, "
        "* EXCLUDE (customer_id, amount) FROM read_csv(?, all_varchar = true)",
        [str(folder / "sales.csv")],
    )
    *setup, last = statements(script)
    for sql in setup:
        con.execute(sql)
    got = {
        r[0]: r[1:] for r in con.execute(f"SELECT entity_id, score, grade FROM ({last})").fetchall()
    }
    rs = resolve_scheme("customer-rfm")
    ev = evaluate(rs, open_dataset(folder), "2025")
    want = {r["entity_id"]: (r["score"], r["grade"]) for r in ev.table.to_pylist()}
    assert got.keys() == want.keys()
    assert all(same(got[k][0], want[k][0]) and got[k][1] == want[k][1] for k in want)


@pytest.mark.parametrize("dialect", ["postgres", "spark"])
def test_other_dialects_quote_and_type_as_they_expect(dialect, capsys):
    code = main(["compile", "customer-composite", "--period", "2025", "--dialect", dialect])
    out = capsys.readouterr().out
    assert code == 0
    if dialect == "spark":
        assert "CREATE OR REPLACE TEMPORARY VIEW `pingji_sales`" in out
        assert "CACHE TABLE `pingji_result`;" in out and "AS STRING)" in out
    else:
        assert 'CREATE OR REPLACE TEMP VIEW "pingji_sales"' in out
        assert 'CREATE TEMP TABLE "pingji_result"' in out and "DOUBLE PRECISION" in out
    assert out.rstrip().endswith("ORDER BY entity_id;")


def test_a_script_runs_on_postgresql(tmp_path, pg_url):
    """The postgres dialect on a real server: raw text tables in a schema of their own."""
    import psycopg

    folder = tmp_path / "data"
    generate("customer-composite", folder, entities=30, seed=11)
    rs = resolve_scheme("customer-composite")
    period = Period.parse("2025", "year")
    script = export_script(rs, period, "postgres")
    ev = evaluate(rs, open_dataset(folder), period)
    want = {r["entity_id"]: (r["score"], r["grade"]) for r in ev.table.to_pylist()}
    with psycopg.connect(pg_url, autocommit=True) as pg:
        pg.execute("DROP SCHEMA IF EXISTS pingji_export CASCADE")
        pg.execute("CREATE SCHEMA pingji_export")
        pg.execute("SET search_path = pingji_export")
        local = duckdb.connect()
        for path in sorted(folder.glob("*.csv")):
            cols = [
                d[0]
                for d in local.execute(
                    "SELECT * FROM read_csv(?, all_varchar = true) LIMIT 0", [str(path)]
                ).description
            ]
            pg.execute(f'CREATE TABLE "{path.stem}" ({", ".join(f"{c} text" for c in cols)})')
            with pg.cursor().copy(f'COPY "{path.stem}" FROM STDIN (FORMAT csv, HEADER true)') as cp:
                cp.write(path.read_bytes())
        try:
            *setup, last = statements(script)
            for sql in setup:
                pg.execute(sql)
            rows = pg.execute(f"SELECT entity_id, score, grade FROM ({last}) AS r").fetchall()
        finally:
            pg.execute("DROP SCHEMA pingji_export CASCADE")
    got = {r[0]: (r[1], r[2]) for r in rows}
    assert got.keys() == want.keys()
    assert all(same(float(got[k][0]), want[k][0]) and got[k][1] == want[k][1] for k in want)


@pytest.mark.parametrize(
    "args, says",
    [
        (["--with", "calendar"], "--with names calendar: the optional tables a script can read"),
        (["--sources", "{sources_other}"], "maps table 'suppliers', which scheme customer-rfm"),
        (["--sources", "{sources_column}"], "renames column 'customer_idd' of customers"),
        (["--out", "{missing}/x.sql"], "folder"),
    ],
)
def test_what_the_script_cannot_honour_is_refused(tmp_path, capsys, args, says):
    other = tmp_path / "other.yaml"
    other.write_text("suppliers: {table: erp.lieferanten}\n", encoding="utf-8")
    column = tmp_path / "column.yaml"
    column.write_text(
        "customers: {table: kunden, columns: {customer_idd: kid}}\n", encoding="utf-8"
    )
    filled = [
        a.format(sources_other=other, sources_column=column, missing=tmp_path / "nope")
        for a in args
    ]
    code = main(["compile", "customer-rfm", "--period", "2025", *filled])
    err = capsys.readouterr().err
    assert code == 2
    assert says in err and "internal error" not in err


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "spark"])
def test_two_compiles_in_processes_with_different_string_hashes_write_the_same_script(
    tmp_path, dialect
):
    # customer-rfm's steps leave out several columns at once (`EXCLUDE ("p__1", "p__2",
    # "p__3")` on DuckDB), which Ibis holds as a set: its order followed the string hash
    scripts = []
    for seed in ("1", "2"):
        out = tmp_path / f"rfm-{seed}.sql"
        env = {**os.environ, "PYTHONHASHSEED": seed, "PINGJI_CACHE_DIR": "off"}
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pingji.cli.main",
                "compile",
                "customer-rfm",
                "--period",
                "2025",
                "--dialect",
                dialect,
                "--out",
                str(out),
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        scripts.append(out.read_text(encoding="utf-8"))
    assert scripts[0] == scripts[1]
    if dialect == "duckdb":
        assert 'EXCLUDE ("p__1", "p__2", "p__3")' in scripts[0]
