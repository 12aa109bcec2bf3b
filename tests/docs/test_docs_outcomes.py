"""What docs/scheme-language.md says an example gives, it gives: scores, grades, values, output
lines and error messages, on the small hand-made data sets of tests/docs/data (every number
below is checked by hand against the doc's own working)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from pingji.cli.main import main
from pingji.data import open_dataset
from pingji.data.sources import read_sources
from pingji.engine import evaluate
from pingji.errors import PingjiError
from pingji.scheme import load_scheme
from pingji.templates.sample import generate

DOC = (Path(__file__).resolve().parents[2] / "docs" / "scheme-language.md").read_text("utf-8")
DATA = Path(__file__).resolve().parent / "data"


def doc_scheme(scheme_id: str) -> str:
    """Return the complete scheme the doc shows with this id."""
    found = re.findall(rf"^```yaml\n(id: {re.escape(scheme_id)}\n.*?)^```", DOC, re.S | re.M)
    assert len(found) == 1, scheme_id
    return found[0]


SKELETON = re.search(r"^```yaml\n(id: my-scheme\n.*?)^```", DOC, re.S | re.M).group(1)  # §1


def doc_text_after(marker: str) -> str:
    """Return the first ```text or ```json block after a passage of the doc."""
    start = DOC.index(marker)
    return re.search(r"^```(?:text|json)\n(.*?)^```", DOC[start:], re.S | re.M).group(1)


def metrics(text: str, data: str | Path, period: str) -> dict[str, dict]:
    """Evaluate a scheme in-process: every entity's metric values, by entity id."""
    rs = load_scheme("example.yaml", text=text)
    raw = evaluate(rs, open_dataset(DATA / data), period).raw.to_pylist()
    return {
        row["entity_id"]: {k[3:]: v for k, v in row.items() if k.startswith("m__")} for row in raw
    }


def cli(tmp_path, capsys, monkeypatch, *argv: str) -> tuple[int, str, str]:
    monkeypatch.chdir(tmp_path)
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def evaluate_lines(tmp_path, capsys, monkeypatch, text: str, data: str | Path, period: str):
    (tmp_path / "scheme.yaml").write_text(text, encoding="utf-8")
    code, out, err = cli(
        tmp_path, capsys, monkeypatch,
        "evaluate", "scheme.yaml", "--data", str(DATA / data), "--period", period,
    )  # fmt: skip
    assert code == 0, err
    return {json.loads(line)["entity_id"]: line for line in out.splitlines()}


# §14 -------------------------------------------------------------------------------------


def test_the_real_line_of_customer_composite_is_real(tmp_path, capsys, monkeypatch):
    generate("customer-composite", tmp_path / "data", entities=10)
    code, out, err = cli(
        tmp_path, capsys, monkeypatch,
        "evaluate", "customer-composite", "--data", "data", "--period", "2025",
    )  # fmt: skip
    assert code == 0, err
    shown = doc_text_after("A real line (customer-composite, sample data, 2025)").strip()
    assert out.splitlines()[0] == shown


# §15.1 -----------------------------------------------------------------------------------


def test_an_unknown_category_without_default_stops_with_the_message_shown(
    tmp_path, capsys, monkeypatch
):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "suppliers.csv").write_text(
        "supplier_id,name,category\nS1,甲,ic\nS2,乙,Hardware\nS3,丙,\n", encoding="utf-8"
    )
    shutil.copy(DATA / "inspections" / "inspections.csv", folder)
    (tmp_path / "scheme.yaml").write_text(
        "id: by-category\nentity: suppliers\nperiod: year\n"
        "metrics:\n  category: {attribute: category}\n  lots: {count: inspections}\n"
        "tree:\n  id: total\n  max: 100\n  weights_by:\n    by: category\n"
        "    profiles:\n      ic: {quality: 50, volume: 50}\n      bulk: {quality: 30, volume: 70}\n"
        "  children:\n"
        "    - {id: quality, max: 100, value: lots, rule: {linear: {zero_at: 0, full_at: 10}}}\n"
        "    - {id: volume, max: 100, value: lots, rule: {linear: {zero_at: 0, full_at: 5}}}\n",
        encoding="utf-8",
    )
    code, _out, err = cli(
        tmp_path, capsys, monkeypatch,
        "evaluate", "scheme.yaml", "--data", "data", "--period", "2025",
    )  # fmt: skip
    shown = doc_text_after("没有 `default` 时评价失败").strip()
    assert code == 1
    assert shown in err


# §15.2 -----------------------------------------------------------------------------------


def test_open_lines_counts_an_undelivered_line_as_late():
    # S1: one line on time, one not delivered → 0.5; S2: delivered two days late → 0
    values = metrics(doc_scheme("open-lines"), "open-lines", "2025")
    assert values["S1"] == {"lines": 2, "late": 1, "on_time": 0.5}
    assert values["S2"] == {"lines": 1, "late": 1, "on_time": 0.0}


# §15.3 -----------------------------------------------------------------------------------


def test_a_value_outside_choices_is_refused_as_shown(tmp_path, capsys, monkeypatch):
    (tmp_path / "visit-time.yaml").write_text(doc_scheme("visit-time"), encoding="utf-8")
    code, out, err = cli(
        tmp_path, capsys, monkeypatch,
        "evaluate", "visit-time.yaml", "--data", str(DATA / "site-visits"), "--period", "2025",
    )  # fmt: skip
    shown = re.search(r"`channel` 为 `email` 时报\n`([^`]+)`", DOC).group(1)
    assert code == 2
    assert out == ""
    assert shown in err


def test_the_bad_table_reports_its_key_once_the_type_is_fixed(tmp_path):
    fixed = doc_scheme("bad-table").replace("minutes: numbr", "minutes: number")
    shown = re.search(r"改正后会报 `([^`]+)`", DOC.replace("\n", " ")).group(1)
    with pytest.raises(PingjiError) as error:
        load_scheme(tmp_path / "bad-table.yaml", text=fixed)
    assert shown in str(error.value)


# §15.4 -----------------------------------------------------------------------------------


def test_a_typo_in_sources_yaml_is_reported_as_shown(tmp_path):
    (tmp_path / "sources.yaml").write_text(
        "sales:\n  file: 销售明细.xlsx\n  colums: {customer_id: 客户编码}\n", encoding="utf-8"
    )
    shown = re.search(r"错误指向行:\n  `([^`]+)`", DOC).group(1)
    with pytest.raises(PingjiError) as error:
        read_sources(tmp_path / "sources.yaml")
    assert shown in str(error.value)


# §16.1 -----------------------------------------------------------------------------------

POPULATION = """
id: population
entity: customers
period: year
metrics:
  sales: {sum: sales.amount}
  x: {expr: "if(sales > 0, sales, null)"}
  rank: {expr: rank(x)}
  pct_rank: {expr: pct_rank(x)}
  ntile: {expr: "ntile(x, 3)"}
  median: {expr: "quantile(x, 0.5)"}
  cum_share: {expr: cum_share(x)}
"""


def test_the_five_customers_table_of_population_functions():
    values = metrics(POPULATION, "population", "2025")
    got = {
        e: (v["x"], v["rank"], v["pct_rank"], v["ntile"], v["median"], v["cum_share"])
        for e, v in values.items()
    }
    assert got["A"] == (300, 1, pytest.approx(2 / 3), 2, 200, pytest.approx(0.4))
    assert got["B"] == (100, 3, pytest.approx(1 / 3), 1, 200, pytest.approx(700 / 750))
    assert got["C"] == (300, 1, pytest.approx(2 / 3), 3, 200, pytest.approx(0.8))
    assert got["D"] == (50, 4, 0, 1, 200, 1)
    assert got["E"] == (None,) * 6


def population_errors() -> list[tuple[str, str]]:
    table = DOC[DOC.index("**Errors 错误**") : DOC.index("**Limits 限制.**")]
    return re.findall(r"^\| `([^`]+)` \| (.+?) \|$", table, re.M)


@pytest.mark.parametrize(("written", "message"), population_errors())
def test_each_population_error_of_the_table(tmp_path, written, message):
    text = (
        "id: errors\nentity: customers\nperiod: year\nparams: {k: 5}\n"
        "metrics:\n  sales: {sum: sales.amount}\n  region: {attribute: region}\n"
        f'  wrong: {{expr: "{written}"}}\n'
    )
    with pytest.raises(PingjiError) as error:
        load_scheme(tmp_path / "errors.yaml", text=text)
    assert message in str(error.value)


def test_the_doc_lists_five_population_errors():
    assert len(population_errors()) == 5


# §16.2, §5, §18.1 ------------------------------------------------------------------------

STATED = """
id: stated
entity: customers
period: year
metrics:
  sales: {sum: sales.amount}
  text_two: {expr: "text(2.0)"}
  text_sum: {expr: "text(0.1 + 0.2)"}
  rounded_eq: {expr: "0.97 * 100 = 97"}
  ceil_three: {expr: "ceil(0.1 * 3 * 10)"}
  jan_end: {expr: "add_months(date('2025-01-31'), 1)"}
  leap: {expr: "add_months(date('2024-01-31'), 1)"}
  leap_year_on: {expr: "add_months(date('2024-02-29'), 12)"}
  back: {expr: "add_months(date('2025-03-31'), -1)"}
  no_stick: {expr: "add_months(date('2025-02-28'), 1)"}
  concat_null: {expr: "concat('4', null, '5')"}
  nothing: {mean: sales.amount, where: "amount < 0"}
  null_le: {expr: "if(nothing <= 1, 'yes', 'no')"}
  not_gt: {expr: "if(not (nothing > 1), 'yes', 'no')"}
"""


def test_the_values_the_expression_sections_state():
    values = metrics(STATED, "first-sale", "2025")["C1"]
    assert values["text_two"] == "2"
    assert values["text_sum"] == "0.3"
    assert values["rounded_eq"] is True
    assert values["ceil_three"] == 3
    assert [str(values[k]) for k in ("jan_end", "leap", "leap_year_on", "back", "no_stick")] == [
        "2025-02-28", "2024-02-29", "2025-02-28", "2025-02-28", "2025-03-28",
    ]  # fmt: skip
    assert values["concat_null"] is None
    assert (values["null_le"], values["not_gt"]) == ("no", "yes")


def test_a_date_that_does_not_exist_is_refused_as_shown(tmp_path):
    shown = re.search(r"退出码 2\):`('2025-02-30' is not a date[^`]+)`", DOC).group(1)
    text = doc_scheme("date-demo").replace("date('2025-01-01')", "date('2025-02-30')")
    with pytest.raises(PingjiError) as error:
        load_scheme(tmp_path / "date-demo.yaml", text=text)
    assert shown in str(error.value)


def test_the_trial_end_of_a_first_sale_on_january_10():
    values = metrics(doc_scheme("date-demo"), "first-sale", "2025")["C1"]
    assert str(values["first_sale"]) == "2025-01-10"
    assert str(values["trial_end"]) == "2025-04-10"
    assert values["in_trial"] is False


# §18.2 -----------------------------------------------------------------------------------


def test_complaint_speed_by_hand():
    # 01-24 → 02-10 is 7 working days (Spring Festival), 03-07 → 03-10 is 1
    values = metrics(doc_scheme("complaint-speed"), "complaints", "2025")["C1"]
    assert values["complaints"] == 2
    assert values["fast"] == 1
    assert values["fast_share"] == 0.5
    assert values["span"] == 27


def test_the_spring_festival_complaint_with_and_without_the_company_calendar(tmp_path):
    text = doc_scheme("complaint-speed")
    assert metrics(text, "complaints-calendar", "2025")["C1"]["span"] == 6
    plain = tmp_path / "plain"
    shutil.copytree(DATA / "complaints-calendar", plain)
    (plain / "calendar.csv").unlink()
    assert metrics(text, plain, "2025")["C1"]["span"] == 7


def test_a_year_the_calendar_does_not_know_is_refused(tmp_path, capsys, monkeypatch):
    (tmp_path / "speed.yaml").write_text(doc_scheme("complaint-speed"), encoding="utf-8")
    code, _out, err = cli(
        tmp_path, capsys, monkeypatch,
        "evaluate", "speed.yaml", "--data", str(DATA / "complaints"), "--period", "2027",
        "--allow-empty",
    )  # fmt: skip
    shown = re.search(r"\(退出码 2\),绝不会悄悄只按周末计:\n  `(.+?)`。", DOC, re.S).group(1)
    assert code == 2
    assert " ".join(shown.split()) in " ".join(err.split())


# §18.3 -----------------------------------------------------------------------------------


def test_altman_zones_at_their_edges(tmp_path, capsys, monkeypatch):
    lines = evaluate_lines(
        tmp_path, capsys, monkeypatch, doc_scheme("altman-z"), "altman-z", "2025"
    )
    grades = {e: json.loads(line)["grade"] for e, line in lines.items()}
    # Z = 2.99 grey, 2.990000001 safe, 1.81 grey, 1.8099 distress, no Z no grade
    assert grades == {"Z1": "grey", "Z2": "safe", "Z3": "grey", "Z4": "distress", "Z5": None}


# §18.4 -----------------------------------------------------------------------------------


def test_the_line_of_a_customer_without_enough_evidence(tmp_path, capsys, monkeypatch):
    text = doc_scheme("evidence-demo")
    lines = evaluate_lines(tmp_path, capsys, monkeypatch, text, "evidence", "2025")
    assert lines["B"] == doc_text_after("上例的一行输出").strip()
    a = json.loads(lines["A"])  # three orders: rated, 400+300+300 = 1000 sold, all paid → 100
    assert (a["score"], a["grade"], a["status"]) == (100.0, "A", "normal")


# §17 -------------------------------------------------------------------------------------


def test_the_weighted_score_of_the_last_twelve_months(tmp_path, capsys, monkeypatch):
    text = doc_scheme("supplier-weighted")
    lines = evaluate_lines(tmp_path, capsys, monkeypatch, text, "inspections", "2025-04")
    shown = doc_text_after("Its output line begins").strip()
    assert shown.endswith(", …}")
    assert lines["S1"].startswith(shown.removesuffix(" …}"))  # 3260 / 42 = 77.619047619 → B
    s2 = json.loads(lines["S2"])  # never inspected: no score in any month, no grade
    assert (s2["score"], s2["grade_basis"], s2["grade"]) == (None, None, None)


def test_the_smoothed_score(tmp_path, capsys, monkeypatch):
    text = doc_scheme("supplier-smoothed")
    line = json.loads(
        evaluate_lines(tmp_path, capsys, monkeypatch, text, "inspections", "2025-04")["S1"]
    )
    # 0.4·80 + 0.6·(0.4·100 + 0.6·(0.4·75 + 0.6·50)) = 77.6; March: 76 → B; March's rate 1
    assert line["score"] == 80.0
    assert line["grade_basis"] == pytest.approx(77.6, abs=1e-9)
    assert line["grade"] == "B"
    assert (line["last_grade"], line["last_pass_rate"]) == ("B", 1)


def test_grade_at_in_grades_is_refused_as_shown(tmp_path, capsys, monkeypatch):
    text = re.sub(r"  on: >-\n(    .*\n)+", "  on: grade_at(1)\n", doc_scheme("supplier-weighted"))
    (tmp_path / "my-scheme.yaml").write_text(text, encoding="utf-8")
    code, out, err = cli(tmp_path, capsys, monkeypatch, "validate", "my-scheme.yaml")
    shown = doc_text_after("With `on: grade_at(1)` in the first example below")
    command = "$ pingji validate my-scheme.yaml\n"
    assert shown.startswith(command)
    assert code == 2
    assert out + err == shown.removeprefix(command)


# §2, §3, §15.5 ---------------------------------------------------------------------------


def skeleton_with_params() -> str:
    """The skeleton of §1 with the parameters of §3, as a reader trying §3 writes it."""
    params = re.search(r"^```yaml\n(params:\n.*?)^```", DOC, re.S | re.M).group(1)
    return SKELETON + "\n" + params


def test_the_evaluate_commands_of_sections_2_and_3_run(tmp_path, capsys, monkeypatch):
    (tmp_path / "my-scheme.yaml").write_text(skeleton_with_params(), encoding="utf-8")
    commands = re.findall(
        r"^```sh\n(pingji evaluate my-scheme\.yaml --data DIR .*)\n```", DOC, re.M
    )
    assert len(commands) == 2
    for command in commands:
        argv = command.replace("DIR", str(DATA / "evidence")).split()[1:]
        code, out, err = cli(tmp_path, capsys, monkeypatch, *argv)
        assert code == 0, err
        assert [json.loads(line)["entity_id"] for line in out.splitlines()] == ["A", "B"]


def test_a_date_without_the_year_first_is_refused_as_shown(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "data"
    shutil.copytree(DATA / "evidence", folder)
    (folder / "sales.csv").write_text(
        "customer_id,date,amount\nA,2026-01-05,100\nA,1/6/2026,100\n", encoding="utf-8"
    )
    (tmp_path / "my-scheme.yaml").write_text(SKELETON, encoding="utf-8")
    code, _out, err = cli(
        tmp_path, capsys, monkeypatch,
        "evaluate", "my-scheme.yaml", "--data", "data", "--period", "2026",
    )  # fmt: skip
    shown = re.search(r"只在有问题时报错\n\(`(.+?)`\)", DOC, re.S).group(1)
    assert code == 2
    assert " ".join(shown.split()) in " ".join(err.split())
