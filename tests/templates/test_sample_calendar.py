"""The sample data's working-day calendar (calendar.csv of the customer data sets): China's
public holidays on weekdays and the weekend days worked instead, as the State Council announced
them; workdays_between() counts with it, a company's own rows included."""

from __future__ import annotations

import csv
import shutil
import textwrap
from pathlib import Path

import pytest

from pingji.data import open_dataset
from pingji.engine import evaluate
from pingji.scheme import load_scheme
from pingji.templates import resolve_scheme
from pingji.templates.sample import generate

# 国务院办公厅关于2025年部分节假日安排的通知, day by day: the holidays that fall on a weekday
# (the weekend days inside a holiday rest anyway) and the weekend days worked instead.
HOLIDAYS_2025 = [
    "2025-01-01",  # 元旦 (Wed)
    *("2025-01-28", "2025-01-29", "2025-01-30", "2025-01-31", "2025-02-03", "2025-02-04"),  # 春节
    "2025-04-04",  # 清明节 (Fri; Sat 5 and Sun 6 rest anyway)
    *("2025-05-01", "2025-05-02", "2025-05-05"),  # 劳动节, Thu 1 … Mon 5
    "2025-06-02",  # 端午节, Sat 31 May … Mon 2 June
    *(
        "2025-10-01",
        "2025-10-02",
        "2025-10-03",
        "2025-10-06",
        "2025-10-07",
        "2025-10-08",
    ),  # 国庆、中秋
]
MAKE_UP_2025 = ["2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"]

SCHEME = """
id: calendar-test
entity: customers
period: year
metrics:
  opened: {first: complaints.opened_at, window: all}
  resolved: {last: complaints.resolved_at, window: all}
  span: {expr: "workdays_between(opened, resolved)"}
"""


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sample") / "satisfaction-survey"
    generate("satisfaction-survey", folder, entities=40, seed=7)
    return folder


def calendar_rows(folder: Path) -> dict[str, str]:
    with (folder / "calendar.csv").open(encoding="utf-8", newline="") as f:
        return {row["date"]: row["workday"] for row in csv.DictReader(f)}


def test_the_customer_data_sets_carry_the_calendar(sample, tmp_path):
    other = generate("customer-composite", tmp_path / "composite", entities=5, seed=1)
    assert (tmp_path / "composite" / "calendar.csv") in other
    # the same days whatever the entities and seed: one batch when the demo imports them all
    assert (tmp_path / "composite" / "calendar.csv").read_bytes() == (
        sample / "calendar.csv"
    ).read_bytes()
    # no calendar where nothing counts working days
    suppliers = generate("supplier-rating", tmp_path / "suppliers", entities=5)
    assert "calendar" not in [p.stem for p in suppliers]
    assert not (tmp_path / "suppliers" / "calendar.csv").exists()


def test_2025_is_listed_day_by_day_as_the_state_council_announced(sample):
    rows = calendar_rows(sample)
    in_2025 = {d: w for d, w in rows.items() if d.startswith("2025")}
    expected = {d: "false" for d in HOLIDAYS_2025} | {d: "true" for d in MAKE_UP_2025}
    assert in_2025 == expected
    # the earlier years of the data, spot-checked: National Day 2024 (Tue 1 … Mon 7, worked
    # Sun 29 Sep and Sat 12 Oct) and 2023 (Fri 29 Sep … Fri 6 Oct, worked Sat 7 and Sun 8)
    assert [rows.get(d) for d in ("2024-09-29", "2024-10-04", "2024-10-07", "2024-10-12")] == [
        "true",
        "false",
        "false",
        "true",
    ]
    assert [rows.get(d) for d in ("2023-09-29", "2023-10-06", "2023-10-07", "2023-10-08")] == [
        "false",
        "false",
        "true",
        "true",
    ]
    assert min(rows) >= "2023-01-01" and max(rows) <= "2025-12-31"
    assert "2025-03-05" not in rows  # an ordinary Wednesday is no exception


def test_working_days_are_counted_with_the_sample_calendar(sample, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(sample / "calendar.csv", folder / "calendar.csv")
    (folder / "customers.csv").write_text("customer_id\nSF\nOCT\nNAT24\n", encoding="utf-8")
    (folder / "complaints.csv").write_text(
        "entity_id,opened_at,resolved_at\n"
        "SF,2025-01-24,2025-02-10\nOCT,2025-09-30,2025-10-13\nNAT24,2024-09-27,2024-10-08\n",
        encoding="utf-8",
    )
    path = tmp_path / "calendar-test.yaml"
    path.write_text(textwrap.dedent(SCHEME), encoding="utf-8")

    def spans() -> dict[str, int]:
        ev = evaluate(load_scheme(path), open_dataset(folder), "2025")
        return {r["entity_id"]: r["m__span"] for r in ev.raw.to_pylist()}

    # SF: Fri 01-24 → Mon 02-10: Sun 26 (worked), Mon 27, [Tue 28 … Tue 02-04 rest], Wed 5,
    #   Thu 6, Fri 7, Sat 8 (worked), Mon 10: 7.
    # OCT: Tue 09-30 → Mon 10-13: [10-01 … 10-08 rest], Thu 9, Fri 10, Sat 11 (worked), Mon 13: 4.
    # NAT24: Fri 2024-09-27 → Tue 10-08: Sun 29 (worked), Mon 30, [10-01 … 10-07 rest], Tue 8: 3.
    assert spans() == {"SF": 7, "OCT": 4, "NAT24": 3}
    # a company's own day on top: its staff rest on Thu 2025-10-09 as well
    with (folder / "calendar.csv").open("a", encoding="utf-8") as f:
        f.write("2025-10-09,false\n")
    assert spans() == {"SF": 7, "OCT": 3, "NAT24": 3}


def test_the_calendar_changes_no_sample_result(sample, tmp_path):
    """The rows are the official days the engine knows anyway: satisfaction-survey (the
    built-in that counts working days) gives the same results with and without them."""
    rs = resolve_scheme("satisfaction-survey")
    with_calendar = evaluate(rs, open_dataset(sample), "2025").table
    without = tmp_path / "without"
    shutil.copytree(sample, without)
    (without / "calendar.csv").unlink()
    assert evaluate(rs, open_dataset(without), "2025").table.equals(with_calendar)
