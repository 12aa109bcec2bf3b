"""Users' own data: only what a scheme reads is required and checked, null is data, a scheme
may declare its own tables, and sources.yaml maps the contract onto the user's own files."""

from __future__ import annotations

import datetime as dt
import textwrap
import uuid
from pathlib import Path

import openpyxl
import psycopg
import pyarrow as pa
import pytest

from pingji.cli.main import main
from pingji.data import load_into_postgres, open_dataset
from pingji.engine import evaluate
from pingji.errors import DataError, EvaluationError, SchemeError
from pingji.scheme.resolve import load_scheme

DELIVERY = """\
id: delivery-only
entity: suppliers
period: year
metrics:
  lines: {count: deliveries}
  late: {count: deliveries, where: "isnull(delivered_date) or delivered_date > due_date"}
  on_time: {expr: "1 - late / lines"}
tree:
  id: root
  children:
    - id: on_time
      max: 100
      rule: {linear: {zero_at: 0, full_at: 1}}
"""

# The same, with weights chosen per supplier category (profiles in lower case, data as written).
BY_CATEGORY = """\
id: by-category
entity: suppliers
period: year
metrics:
  category: {attribute: category}
  lines: {count: deliveries}
  late: {count: deliveries, where: "isnull(delivered_date) or delivered_date > due_date"}
  on_time: {expr: "1 - late / lines"}
  volume: {expr: "lines"}
tree:
  id: root
  max: 100
  weights_by:
    by: category
    profiles:
      ic: {on_time: 3, volume: 1}
      bulk: {on_time: 1, volume: 1}
%(default)s
  children:
    - id: on_time
      max: 100
      rule: {linear: {zero_at: 0, full_at: 1}}
    - id: volume
      max: 100
      rule: {linear: {zero_at: 0, full_at: 4}}
"""

VISITS = """\
id: visit-time
entity: customers
period: year
tables:
  site_visits:
    kind: fact
    entity: customers
    key: customer_id
    date: visit_date
    label: 拜访记录
    columns:
      customer_id: string
      visit_date: date
      minutes: number
      channel: {type: string, choices: [phone, onsite], label: 渠道}
metrics:
  minutes: {sum: site_visits.minutes}
  onsite: {count: site_visits, where: "channel = 'onsite'"}
  unrecorded: {count: site_visits, where: "isnull(minutes)"}
"""


def scheme(tmp_path: Path, text: str, name: str = "scheme.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_scheme(path)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def results(rs, ds, period: str = "2025") -> dict[str, dict]:
    return {r["entity_id"]: r for r in evaluate(rs, ds, period).raw.to_pylist()}


DELIVERIES = """
    supplier_id,due_date,delivered_date
    S1,2025-03-01,2025-02-28
    S1,2025-04-01,2025-04-03
    S2,2025-05-01,2025-05-01
    S2,2025-06-01,
    S3,2025-06-01,2025-06-01
"""


# -- 1. a column the scheme does not read is neither required nor checked -----------------


def test_a_category_the_contract_never_listed_loads_when_the_scheme_does_not_read_it(
    tmp_path, folder
):
    write(folder, "suppliers.csv", "supplier_id,name,category\nS1,甲,Hardware\nS2,乙,ic\nS3,丙,\n")
    write(folder, "deliveries.csv", DELIVERIES)
    rows = results(scheme(tmp_path, DELIVERY), open_dataset(folder))
    assert {k: r["m__late"] for k, r in rows.items()} == {"S1": 1, "S2": 1, "S3": 0}


def test_a_supplier_master_without_the_category_column_loads(tmp_path, folder, write_xlsx):
    write_xlsx(
        "suppliers.xlsx", [["supplier_id", "name"], ["S1", "甲"], ["S2", "乙"], ["S3", "丙"]]
    )
    write(folder, "deliveries.csv", DELIVERIES)
    rows = results(scheme(tmp_path, DELIVERY), open_dataset(folder))
    assert rows["S1"]["n__on_time__points"] == 50.0
    assert rows["S3"]["n__on_time__points"] == 100.0


def test_a_column_not_read_is_kept_unchecked_even_when_it_holds_nonsense(tmp_path, folder):
    # `opening_balance` is money in the contract; a scheme that does not read it ignores it
    write(folder, "customers.csv", "customer_id,opening_balance\nC1,lots\nC2,12\n")
    write(folder, "sales.csv", "customer_id,date,amount,batch_id\nC1,2025-01-02,5,x\n")
    rs = scheme(
        tmp_path,
        "id: s\nentity: customers\nperiod: year\nmetrics:\n  sales: {sum: sales.amount}\n",
    )
    ds = open_dataset(folder)
    assert {k: r["m__sales"] for k, r in results(rs, ds).items()} == {"C1": 5, "C2": 0}
    # without a scheme, every contract column there is checked
    with pytest.raises(DataError, match="column 'opening_balance': not an amount"):
        open_dataset(folder).table("customers")


def test_a_column_the_scheme_reads_must_be_there(tmp_path, folder):
    write(folder, "customers.csv", "customer_id\nC1\n")
    write(folder, "sales.csv", "customer_id,date,qty\nC1,2025-01-02,5\n")
    rs = scheme(
        tmp_path, "id: s\nentity: customers\nperiod: year\nmetrics:\n  s: {sum: sales.amount}\n"
    )
    with pytest.raises(DataError) as err:
        evaluate(rs, open_dataset(folder), "2025")
    assert str(err.value).startswith(
        f"{folder / 'sales.csv'}:1: column 'amount': required column is missing; the header has "
        "customer_id, date, qty (expected columns customer_id, date, amount)"
    )


def test_an_unknown_category_takes_the_default_profile(tmp_path, folder):
    write(folder, "suppliers.csv", "supplier_id,category\nS1,IC\nS2,Hardware\nS3,bulk\n")
    write(folder, "deliveries.csv", DELIVERIES)
    text = BY_CATEGORY % {"default": "    default: bulk"}
    rows = results(scheme(tmp_path, text), open_dataset(folder))
    # S1: IC (3:1) on time 50, volume 2 of 4 → 50; S2: Hardware → bulk (1:1) 50 and 50
    assert rows["S1"]["w__root__on_time"] == 3.0
    assert rows["S2"]["w__root__on_time"] == 1.0
    assert rows["S2"]["m__category"] == "Hardware"


def test_an_unknown_category_without_a_default_profile_names_the_entities(tmp_path, folder):
    write(folder, "suppliers.csv", "supplier_id,category\nS1,ic\nS2,Hardware\nS3,\n")
    write(folder, "deliveries.csv", DELIVERIES)
    rs = scheme(tmp_path, BY_CATEGORY % {"default": ""})
    with pytest.raises(EvaluationError) as err:
        evaluate(rs, open_dataset(folder), "2025")
    assert "group 'root' chooses its weights by category" in str(err.value)
    assert str(err.value).endswith("2 entities (e.g. S2, S3)")


# -- 2. null is data ---------------------------------------------------------------------


def test_an_open_purchase_line_loads_and_isnull_sees_it(tmp_path, folder, write_parquet):
    write(folder, "suppliers.csv", "supplier_id\nS1\nS2\n")
    write_parquet(
        "deliveries.parquet",
        pa.table(
            {
                "supplier_id": ["S1", "S2", "S2"],
                "due_date": [dt.date(2025, 3, 1), dt.date(2025, 3, 1), dt.date(2025, 4, 1)],
                "delivered_date": pa.array([None, dt.date(2025, 2, 1), None], pa.date32()),
            }
        ),
    )
    rows = results(scheme(tmp_path, DELIVERY), open_dataset(folder))
    assert {k: (r["m__lines"], r["m__late"]) for k, r in rows.items()} == {
        "S1": (1, 1),
        "S2": (2, 1),
    }


def test_an_empty_value_in_a_column_read_is_null_not_an_error(tmp_path, folder):
    write(folder, "customers.csv", "customer_id\nC1\nC2\n")
    write(folder, "sales.csv", "customer_id,date,amount\nC1,2025-01-02,5\nC1,2025-01-03,\n")
    rs = scheme(
        tmp_path,
        """\
        id: s
        entity: customers
        period: year
        metrics:
          total: {sum: sales.amount}
          blanks: {count: sales, where: "isnull(amount)"}
        """,
    )
    rows = results(rs, open_dataset(folder))
    assert (rows["C1"]["m__total"], rows["C1"]["m__blanks"]) == (5, 1)


def test_the_window_date_may_not_be_empty(tmp_path, folder):
    write(folder, "suppliers.csv", "supplier_id\nS1\n")
    write(folder, "deliveries.csv", "supplier_id,due_date,delivered_date\nS1,,2025-01-01\n")
    with pytest.raises(DataError) as err:
        evaluate(scheme(tmp_path, DELIVERY), open_dataset(folder), "2025")
    assert str(err.value) == (
        f"{folder / 'deliveries.csv'}:2: column 'due_date': value is missing "
        "(expected a date YYYY-MM-DD)"
    )


# -- 3. a scheme's own tables ----------------------------------------------------------------

SITE_VISITS = """
    customer_id,visit_date,minutes,channel
    C1,2025-01-05,30,onsite
    C1,2025-02-05,,Phone
    C2,2025-03-05,15,phone
    C1,2024-12-31,99,onsite
"""


def test_a_declared_fact_table_is_read_from_a_folder(tmp_path, folder):
    write(folder, "customers.csv", "customer_id\nC1\nC2\nC3\n")
    write(folder, "site_visits.csv", SITE_VISITS)
    rows = results(scheme(tmp_path, VISITS), open_dataset(folder))
    got = {k: (r["m__minutes"], r["m__onsite"], r["m__unrecorded"]) for k, r in rows.items()}
    assert got == {"C1": (30.0, 1, 1), "C2": (15.0, 0, 0), "C3": (0.0, 0, 0)}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "customer_id,visit_date,minutes,channel\nC1,2025-01-05,30,email\n",
            "site_visits.csv:2: column 'channel': not an allowed value (got 'email', "
            "expected one of phone, onsite)",
        ),
        (
            "customer_id,visit_date,minutes,channel\nC1,2025-01-05,half,phone\n",
            "site_visits.csv:2: column 'minutes': not a number (got 'half', expected a number)",
        ),
        (
            "customer_id,minutes\nC1,3\n",
            "site_visits.csv:1: column 'visit_date': required column is missing; the header has "
            "customer_id, minutes (expected columns customer_id, visit_date, minutes, channel)",
        ),
    ],
    ids=["choice", "number", "missing column"],
)
def test_a_declared_table_is_checked_like_the_contracts(tmp_path, folder, text, message):
    write(folder, "customers.csv", "customer_id\nC1\n")
    write(folder, "site_visits.csv", text)
    scheme_file = tmp_path / "visits.yaml"
    scheme_file.write_text(VISITS, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code = main(["evaluate", str(scheme_file), "-d", str(folder), "-p", "2025", "-o", str(out)])
    assert code == 2
    assert not out.exists()  # nothing written
    with pytest.raises(DataError) as err:
        evaluate(scheme(tmp_path, VISITS), open_dataset(folder), "2025")
    assert str(err.value).startswith(str(folder / message))


@pytest.mark.postgres
def test_a_declared_fact_table_is_read_from_postgres(tmp_path, folder, pg_url):
    write(folder, "customers.csv", "customer_id\nC1\nC2\nC3\n")
    write(folder, "site_visits.csv", SITE_VISITS)
    rs = scheme(tmp_path, VISITS)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        load_into_postgres(folder, pg_url, schema, rs.tables)
        ds = open_dataset(f"{pg_url}?schema={schema}")
        rows = results(rs, ds)
    finally:
        with psycopg.connect(pg_url, autocommit=True) as con:
            con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    got = {k: (r["m__minutes"], r["m__onsite"], r["m__unrecorded"]) for k, r in rows.items()}
    assert got == {"C1": (30.0, 1, 1), "C2": (15.0, 0, 0), "C3": (0.0, 0, 0)}


def test_a_declared_entity_table_is_evaluated(tmp_path, folder, write_parquet):
    write_parquet(
        "stores.parquet",
        pa.table({"store_id": ["A", "B"], "area": [120.0, None], "city": ["沪", "京"]}),
    )
    rs = scheme(
        tmp_path,
        """\
        id: stores
        entity: stores
        period: year
        tables:
          stores:
            kind: entity
            key: store_id
            columns: {store_id: string, area: number, city: string}
        metrics:
          area: {attribute: area}
        """,
    )
    rows = results(rs, open_dataset(folder))
    assert {k: r["m__area"] for k, r in rows.items()} == {"A": 120.0, "B": None}


BAD_TABLES = {
    "unknown type": (
        "      minutes: numbr\n",
        "11:16: expected one of 'string', 'money', 'number', 'integer', 'date' or 'bool'",
    ),
    "contract name": (None, "4:3: 'visits' is a table of the data contract"),
    "key not a column": ("    key: client_id\n", "6:10: key 'client_id' is not among the columns"),
    "date not a column": ("    date: day\n", "7:11: date 'day' is not among the columns"),
}


@pytest.mark.parametrize(("line", "message"), BAD_TABLES.values(), ids=list(BAD_TABLES))
def test_a_bad_declared_table_is_an_error_at_its_line(tmp_path, line, message):
    lines = [
        "id: v\n",
        "entity: customers\n",
        "tables:\n",
        "  site_visits:\n",
        "    kind: fact\n",
        "    key: customer_id\n",
        "    date: visit_date\n",
        "    columns:\n",
        "      customer_id: string\n",
        "      visit_date: date\n",
        "      minutes: number\n",
        "period: year\n",
    ]
    if line is None:
        lines[3] = "  visits:\n"
    elif line.startswith("      minutes"):
        lines[10] = line
    elif "key:" in line:
        lines[5] = line
    else:
        lines[6] = line
    path = tmp_path / "bad.yaml"
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(SchemeError) as err:
        load_scheme(path)
    assert err.value.exit_code == 2
    first = str(err.value).splitlines()[0]
    assert first.startswith(f"{path}:{message.split(':')[0]}:"), first
    assert message.split(": ", 1)[1] in first, first
    assert main(["validate", str(path)]) == 2


# -- 4. sources.yaml ---------------------------------------------------------------------------


def chinese_workbook(path: Path, rows: list[list[object]]) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.title = "说明"
    workbook.active["A1"] = "本表由 ERP 导出"
    sheet = workbook.create_sheet("明细")
    for row in rows:
        sheet.append(row)
    workbook.save(path)


def test_sources_map_a_chinese_sheet_and_columns(tmp_path, folder):
    write(folder, "customers.csv", "customer_id\nC1\nC2\n")
    chinese_workbook(
        folder / "销售明细.xlsx",
        [
            ["客户编码", "日期", "金额", "备注"],
            ["C1", dt.date(2025, 1, 5), 100.5, "首单"],
            ["C1", dt.date(2025, 2, 5), 20, None],
            ["C2", dt.date(2024, 2, 5), 7, None],
        ],
    )
    write(
        folder,
        "sources.yaml",
        """
        sales:
          file: 销售明细.xlsx
          sheet: 明细
          columns: {customer_id: 客户编码, date: 日期, amount: 金额}
        """,
    )
    rs = scheme(
        tmp_path, "id: s\nentity: customers\nperiod: year\nmetrics:\n  s: {sum: sales.amount}\n"
    )
    rows = results(rs, open_dataset(folder))
    assert {k: float(r["m__s"]) for k, r in rows.items()} == {"C1": 120.5, "C2": 0.0}


def test_errors_in_mapped_data_name_the_users_file_and_column(tmp_path, folder):
    write(folder, "customers.csv", "customer_id\nC1\n")
    chinese_workbook(
        folder / "销售明细.xlsx",
        [
            ["客户编码", "日期", "金额"],
            ["C1", dt.date(2025, 1, 5), 1],
            ["C1", "2025-01-06", "一百"],
        ],
    )
    mapping = write(
        tmp_path,
        "my-sources.yaml",
        """
        sales:
          file: 销售明细.xlsx
          sheet: 明细
          columns: {customer_id: 客户编码, date: 日期, amount: 金额}
        """,
    )
    rs = scheme(
        tmp_path, "id: s\nentity: customers\nperiod: year\nmetrics:\n  s: {sum: sales.amount}\n"
    )
    with pytest.raises(DataError) as err:
        evaluate(rs, open_dataset(folder, mapping), "2025")
    assert str(err.value).startswith(
        f"{folder / '销售明细.xlsx'}:3: column '金额': not an amount (got '一百'"
    )
    scheme_file = tmp_path / "scheme.yaml"
    args = ["-d", str(folder), "-p", "2025", "--sources", str(mapping)]
    assert main(["evaluate", str(scheme_file), *args]) == 2
    assert main(["validate", str(scheme_file), "-d", str(folder), "--sources", str(mapping)]) == 2


def test_a_mapped_column_missing_is_named_as_the_user_calls_it(tmp_path, folder):
    write(folder, "customers.csv", "customer_id\nC1\n")
    write(folder, "ventes.csv", "client,jour\nC1,2025-01-01\n")
    write(
        folder,
        "sources.yaml",
        "sales:\n  file: ventes.csv\n  columns: {customer_id: client, date: jour, amount: montant}\n",
    )
    rs = scheme(
        tmp_path, "id: s\nentity: customers\nperiod: year\nmetrics:\n  s: {sum: sales.amount}\n"
    )
    with pytest.raises(DataError) as err:
        evaluate(rs, open_dataset(folder), "2025")
    assert str(err.value) == (
        f"{folder / 'ventes.csv'}:1: column 'montant': required column is missing; the header "
        "has client, jour (expected columns client, jour, montant)"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sales:\n  file: a.csv\n  colums: {}\n", ":3: sales.colums: unknown key 'colums'"),
        ("sales:\n  columns: {}\n", ":1: sales: give exactly one of `file`"),
        ("sales:\n  file: a.csv\n  sheet: 明细\n", ":1: sales: `sheet` belongs to an .xlsx file"),
        ("sales:\n  file: a.txt\n", ": sales: cannot read 'a.txt'"),
        ("sales:\n  table: erp.sales\n", ": sales: `table` names a database table"),
        ("sales: [\n", ":2: not valid YAML"),
    ],
    ids=["typo", "no place", "sheet of csv", "suffix", "table in a folder", "yaml"],
)
def test_a_bad_sources_file_is_an_error_at_its_line(folder, text, message):
    path = write(folder, "sources.yaml", text)
    with pytest.raises(DataError) as err:
        open_dataset(folder)
    assert err.value.exit_code == 2
    assert str(err.value).startswith(f"{path}{message}"), str(err.value)


def test_a_missing_sheet_lists_the_sheets(tmp_path, folder):
    write(folder, "customers.csv", "customer_id\nC1\n")
    chinese_workbook(folder / "销售明细.xlsx", [["客户编码", "日期", "金额"]])
    write(folder, "sources.yaml", "sales:\n  file: 销售明细.xlsx\n  sheet: 汇总\n")
    with pytest.raises(DataError) as err:
        open_dataset(folder).table("sales")
    assert str(err.value) == (
        f"{folder / '销售明细.xlsx'}: the workbook has no sheet '汇总' (expected one of 说明, 明细)"
    )


@pytest.mark.postgres
def test_sources_map_a_postgres_table_and_columns(tmp_path, pg_url):
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'CREATE SCHEMA "{schema}"')
        con.execute(f'CREATE TABLE "{schema}".kunden (kunde text)')
        con.execute(f"INSERT INTO \"{schema}\".kunden VALUES ('C1'), ('C2')")
        con.execute(f'CREATE TABLE "{schema}".sd_sales (kunde text, tag date, betrag numeric)')
        con.execute(
            f"INSERT INTO \"{schema}\".sd_sales VALUES ('C1', '2025-01-02', 3.5), "
            "('C1', '2025-03-02', NULL), ('C2', '2024-01-01', 9)"
        )
    mapping = write(
        tmp_path,
        "sources.yaml",
        f"""
        customers: {{table: {schema}.kunden, columns: {{customer_id: kunde}}}}
        sales:
          table: {schema}.sd_sales
          columns: {{customer_id: kunde, date: tag, amount: betrag}}
        """,
    )
    rs = scheme(
        tmp_path, "id: s\nentity: customers\nperiod: year\nmetrics:\n  s: {sum: sales.amount}\n"
    )
    try:
        ds = open_dataset(pg_url, mapping)
        assert ds.source("sales").endswith(f"table {schema}.sd_sales")
        rows = results(rs, ds)
    finally:
        with psycopg.connect(pg_url, autocommit=True) as con:
            con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    assert {k: float(r["m__s"]) for k, r in rows.items()} == {"C1": 3.5, "C2": 0.0}


def test_a_misspelt_table_in_sources_is_pointed_at_when_the_table_is_missing(tmp_path, folder):
    write(folder, "customers.csv", "customer_id\nC1\n")
    write(folder, "销售.csv", "客户编码,日期,金额\nC1,2025-01-05,10\n")
    write(folder, "sources.yaml", "sale:\n  file: 销售.csv\n")
    rs = scheme(
        tmp_path, "id: s\nentity: customers\nperiod: year\nmetrics:\n  s: {sum: sales.amount}\n"
    )
    with pytest.raises(DataError, match=r"table 'sales' is missing") as err:
        evaluate(rs, open_dataset(folder), "2025")
    assert "the sources file maps 'sale', which is no table of the scheme" in str(err.value)
