"""`--memory-limit` / PINGJI_MEMORY_LIMIT and `--temp-dir` / PINGJI_TEMP_DIR: DuckDB's memory
limit and spill folder on the data set's connection, bad values refused as bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.cli.test_cli import CUSTOMERS, jsonl, run, write_tables

from pingji.data import limits, open_dataset

SIZE_EXPECTED = (
    "expects a memory size of at least 16MB, such as 4GB or 512MB "
    "(units KB, MB, GB, TB or KiB, MiB, GiB, TiB), not "
)


def setting(ds, name: str) -> str:
    return ds.duck.execute("SELECT current_setting(?)", [name]).fetchone()[0]


@pytest.fixture
def customers(tmp_path: Path) -> Path:
    """A tiny customer data set for customer-composite, period 2025."""
    return write_tables(tmp_path / "data", CUSTOMERS)


@pytest.fixture(autouse=True)
def no_limits_from_the_environment(monkeypatch) -> None:
    monkeypatch.delenv(limits.MEMORY_ENV, raising=False)
    monkeypatch.delenv(limits.TEMP_ENV, raising=False)


def test_the_data_set_connection_takes_the_limit_and_spills_into_a_folder_of_its_own(
    customers, tmp_path
) -> None:
    with limits.configured("512MB", str(tmp_path)):
        ds = open_dataset(customers)
    # 512 MB are 512,000,000 bytes: DuckDB shows them in MiB
    assert setting(ds, "memory_limit") == "488.2 MiB"
    spill = Path(setting(ds, "temp_directory"))
    assert spill.parent == tmp_path
    assert spill.name.startswith("pingji-duckdb-")
    # a second data set spills elsewhere: DuckDB names its spill files alike in every process
    with limits.configured("512MB", str(tmp_path)):
        other = open_dataset(customers)
    assert setting(other, "temp_directory") != str(spill)
    # outside the block: DuckDB's own limit again, and the system's temporary folder
    after = open_dataset(customers)
    assert setting(after, "memory_limit") != "488.2 MiB"
    assert Path(setting(after, "temp_directory")).name.startswith("pingji-duckdb-")


def test_the_environment_gives_the_limit_when_no_option_does(
    customers, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv(limits.MEMORY_ENV, "1GiB")
    monkeypatch.setenv(limits.TEMP_ENV, str(tmp_path))
    ds = open_dataset(customers)
    assert setting(ds, "memory_limit") == "1.0 GiB"
    assert Path(setting(ds, "temp_directory")).parent == tmp_path
    with limits.configured("2GiB"):  # the option wins
        assert setting(open_dataset(customers), "memory_limit") == "2.0 GiB"


def test_results_under_a_small_limit_are_those_without_one(customers, tmp_path, capsys) -> None:
    args = ["evaluate", "customer-composite", "-d", str(customers), "-p", "2025"]
    code, plain, _ = run(capsys, *args)
    assert code == 0
    spill = tmp_path / "spill"
    spill.mkdir()
    code, limited, err = run(capsys, *args, "--memory-limit", "64MB", "--temp-dir", str(spill))
    assert (code, err) == (0, "")
    assert limited == plain
    sales_volume = jsonl(limited)[0]["nodes"]["sales_volume"]
    assert (sales_volume["value"], sales_volume["points"]) == (1100000, 15)
    assert list(spill.iterdir()) == []  # nothing spilled is left behind


@pytest.mark.parametrize("value", ["lots", "4", "4XB", "-1GB", "1MB", "15MiB"])
def test_a_bad_memory_limit_is_bad_input_naming_the_option(customers, capsys, value) -> None:
    code, out, err = run(
        capsys, "evaluate", "customer-composite", "-d", str(customers), "-p", "2025",
        "--memory-limit", value,
    )  # fmt: skip
    assert (code, out) == (2, "")
    assert err == f"Error: --memory-limit {SIZE_EXPECTED}'{value}'\n"


def test_a_bad_limit_in_the_environment_is_bad_input_naming_the_variable(
    customers, capsys, monkeypatch
) -> None:
    monkeypatch.setenv(limits.MEMORY_ENV, "4 gigs")
    code, out, err = run(
        capsys, "evaluate", "customer-composite", "-d", str(customers), "-p", "2025"
    )
    assert (code, out) == (2, "")
    assert err == f"Error: PINGJI_MEMORY_LIMIT {SIZE_EXPECTED}'4 gigs'\n"


def test_a_temp_dir_that_is_no_folder_is_bad_input(customers, tmp_path, capsys) -> None:
    missing = tmp_path / "nowhere"
    code, out, err = run(
        capsys, "evaluate", "customer-composite", "-d", str(customers), "-p", "2025",
        "--temp-dir", str(missing),
    )  # fmt: skip
    assert (code, out) == (2, "")
    assert err == (
        f"Error: --temp-dir expects an existing folder to write temporary files in, "
        f"not '{missing}'\n"
    )


@pytest.mark.parametrize(
    ("given", "kept"), [("4GB", "4GB"), ("512 mib", "512MiB"), ("1.5gb", "1.5GB"), ("16MB", "16MB")]
)
def test_sizes_are_read_in_duckdb_units(given, kept) -> None:
    assert limits.memory_limit(given, "--memory-limit") == kept
