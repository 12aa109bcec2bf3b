"""Messages with ids: the engine, data, scheme and CLI layers word their messages late, in the
active language (Chinese from the zh_Hans catalog, English from the ids), and the catalog is
complete, compiled and written with full-width punctuation."""

from __future__ import annotations

import ast
import gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import pingji
from pingji import i18n
from pingji.cli.main import main
from pingji.errors import DataError, Problem, SchemeError
from pingji.i18n import Message, msg, pydantic_message, use_language
from pingji.periods import Period

SRC = Path(pingji.__file__).parent
PO = i18n.LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "pingji.po"
MO = PO.with_suffix(".mo")


def read_po(path: Path) -> dict[str, str]:
    """Return {msgid: msgstr} of a .po file (header left out)."""
    entries: dict[str, str] = {}
    msgid = msgstr = None
    field = None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if line.startswith("msgid "):
            if msgid:
                entries[msgid] = msgstr
            msgid, msgstr, field = ast.literal_eval(line[6:]), "", "id"
        elif line.startswith("msgstr "):
            msgstr, field = ast.literal_eval(line[7:]), "str"
        elif line.startswith(("msgid_plural ", "msgstr[")):
            field = None  # plural forms: the singular id is enough here
        elif line.startswith('"') and field is not None:
            if field == "id":
                msgid += ast.literal_eval(line)
            else:
                msgstr += ast.literal_eval(line)
    if msgid:
        entries[msgid] = msgstr
    return entries


CATALOG = read_po(PO)


# ----------------------------------------------------------------------------- the catalog


def test_the_compiled_catalog_says_what_the_po_file_says(tmp_path) -> None:
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("msgfmt (gettext) is not installed")
    fresh = tmp_path / "pingji.mo"
    subprocess.run([msgfmt, "--check", "-o", str(fresh), str(PO)], check=True)
    with MO.open("rb") as committed, fresh.open("rb") as compiled:
        assert gettext.GNUTranslations(committed)._catalog == (
            gettext.GNUTranslations(compiled)._catalog
        ), "run: msgfmt --check -o pingji.mo pingji.po in src/pingji/locale/zh_Hans/LC_MESSAGES"


def _message_ids_in_code() -> list[tuple[str, str]]:
    """Return (file, msgid) of every msg("…") call with literal text outside the web app."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if "web" in path.relative_to(SRC).parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "msg"):
                continue
            if not node.args:
                continue
            first = node.args[0]
            options = [first.body, first.orelse] if isinstance(first, ast.IfExp) else [first]
            for option in options:
                if isinstance(option, ast.Constant) and isinstance(option.value, str):
                    found.append((str(path.relative_to(SRC)), option.value))
    return found


def test_every_message_id_in_the_code_has_a_chinese_translation() -> None:
    ids = _message_ids_in_code()
    assert len(ids) > 150  # the scan finds the messages (errors, data, scheme, expr, CLI)
    missing = sorted({f"{file}: {text!r}" for file, text in ids if not CATALOG.get(text)})
    assert missing == []


def test_the_fixed_message_ids_of_the_layers_are_translated() -> None:
    # ids that are not literal msg() calls: check messages, expected values, pydantic types
    from pingji.data.contract import EXPECTED
    from pingji.data.problems import CODES
    from pingji.scheme.loader import _EXPECTED, _PATTERNS, _YAML_PROBLEMS

    ids = [*CODES, *EXPECTED.values(), *_EXPECTED.values(), *_PATTERNS.values()]
    ids += list(i18n._PYDANTIC.values())
    ids += [*_YAML_PROBLEMS.values(), *i18n._OS_REASONS.values()]
    from pingji.cli.main import _USAGE_ERRORS

    ids += [*_USAGE_ERRORS.values(), "Usage: "]
    from pingji.extras import EXTRAS

    ids += [what for _modules, what in EXTRAS.values()]
    assert [text for text in ids if not CATALOG.get(text)] == []


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"(?<!\{)\{([A-Za-z_][A-Za-z_0-9]*)", text))


def test_each_translation_has_the_placeholders_of_its_id() -> None:
    wrong = {k: v for k, v in CATALOG.items() if _placeholders(k) != _placeholders(v)}
    assert wrong == {}


def test_chinese_translations_use_full_width_punctuation() -> None:
    offending = {v: i18n.half_width_in_chinese(v) for v in CATALOG.values()}
    assert {v: at for v, at in offending.items() if at} == {}


# ----------------------------------------------------------------------------- Message


def test_a_message_is_worded_when_shown_in_the_active_language() -> None:
    m = msg("table '{table}' is missing", table="orders")
    assert str(m) == "table 'orders' is missing"  # English unless asked otherwise
    with use_language("zh"):
        assert str(m) == "缺少表“orders”"
    with use_language("zh-hans"):  # Django's code for it
        assert m.render() == "缺少表“orders”"
    assert m.render("en") == "table 'orders' is missing"


def test_nested_messages_lists_and_format_specs_follow_the_language() -> None:
    inner = msg("unknown table '{table}'", table="x")
    outer = msg("{path}: {message}", path="a.b", message=inner)
    assert outer.render("en") == "a.b: unknown table 'x'"
    assert outer.render("zh") == "a.b：未知的表“x”"
    joined = msg("{path}: {message}", path="p", message=["a", msg("no columns")])
    assert joined.render("en") == "p: a, no columns"
    assert joined.render("zh") == "p：a、没有列"
    big = msg("{count:,} results → {out}", count=2100000, out="r.csv")
    assert big.render("zh") == "2,100,000 条结果 → r.csv"


def test_a_message_stored_as_json_reads_in_every_language_later() -> None:
    import json

    width = msg(
        "the file has {count:,} columns, more than the limit of {limit:,}: "
        "keep only the columns needed",
        count=1203,
        limit=1000,
    )
    nested = msg("malformed YAML: {detail}", detail=msg("found unexpected end of stream"))
    stored = json.loads(json.dumps(i18n.to_json([width, nested, "as written"])))
    assert stored[1] == {
        "msgid": "malformed YAML: {detail}",
        "params": {"detail": {"msgid": "found unexpected end of stream", "params": {}}},
    }
    again = i18n.from_json(stored)
    assert again[:2] == [width, nested]
    assert i18n.render(again[0], "zh") == "文件有 1,203 列，超过上限 1,000 列：请只保留需要的列"
    assert i18n.render(again[1], "zh") == "YAML 格式错误：文件意外结束：可能有引号或括号没有闭合"
    assert i18n.render(again[1], "en") == "malformed YAML: found unexpected end of stream"
    assert i18n.from_json("plain text stored before") == "plain text stored before"


def test_an_unknown_id_reads_as_written_in_every_language() -> None:
    assert msg("no such id {x}", x=1).render("zh") == "no such id 1"


def test_a_translation_naming_a_placeholder_the_id_lacks_falls_back_to_the_id(
    monkeypatch,
) -> None:
    class Broken(gettext.NullTranslations):
        def gettext(self, message):
            return "{nope}"

    monkeypatch.setattr(i18n, "catalog", lambda lang: Broken())
    assert msg("table '{table}' is missing", table="t").render("zh") == "table 't' is missing"


def test_a_message_compares_with_text_as_it_reads_now() -> None:
    m = msg("no columns")
    assert m == "no columns" and m.startswith("no ") and "col" in m
    assert m == Message("no columns") and m != msg("no such scheme file")


@pytest.mark.parametrize(
    ("environ", "language"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "zh_TW.UTF-8"}, "zh"),
        ({"LANG": "C"}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({}, "en"),
        ({"LANG": "zh_CN.UTF-8", "LC_MESSAGES": "en_US.UTF-8"}, "en"),
        ({"LANG": "en_US.UTF-8", "LC_ALL": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "zh_CN.UTF-8", "PINGJI_LANG": "en"}, "en"),
        ({"LANG": "C", "PINGJI_LANG": "zh"}, "zh"),
        ({"LANG": "C", "PINGJI_LANG": " "}, "en"),
    ],
)
def test_the_language_comes_from_pingji_lang_else_the_locale(environ, language) -> None:
    assert i18n.language_from_env(environ) == language


def test_pydantic_errors_are_worded_by_their_type() -> None:
    e = {"type": "less_than_equal", "loc": ("size",), "msg": "…", "ctx": {"le": 1000}}
    assert pydantic_message(e).render("zh") == "应为不大于 1000 的数"
    assert pydantic_message(e).render("en") == "expected a number of at most 1000"
    missing = {"type": "missing", "loc": ("period",), "msg": "Field required"}
    assert pydantic_message(missing).render("zh") == "必须填写"
    # a validator's own message is its id; unknown types keep pydantic's words
    own = {"type": "value_error", "msg": "Value error, `children` is empty"}
    assert pydantic_message(own).render("zh") == "`children` 为空"
    other = {"type": "some_new_type", "msg": "Something odd"}
    assert pydantic_message(other).render("zh") == "Something odd"


# ----------------------------------------------------------------------------- errors


def test_a_data_error_names_file_row_column_value_and_expected_in_both_languages() -> None:
    err = DataError(
        "sales.csv",
        msg("not an amount"),
        row=3,
        column="amount",
        value="12,5x",
        expected=msg("an amount such as 1234.56 (at most 4 decimals)"),
    )
    assert err.render("en") == (
        "sales.csv:3: column 'amount': not an amount "
        "(got '12,5x', expected an amount such as 1234.56 (at most 4 decimals))"
    )
    assert err.render("zh") == (
        "sales.csv:3：列“amount”：不是金额（实际为 '12,5x'，应为金额，如 1234.56（最多 4 位小数））"
    )
    with use_language("zh"):
        assert str(err) == err.render("zh")  # str() words it as it is shown


def test_a_scheme_error_keeps_positions_and_words_its_problems_late() -> None:
    text = "id: x\nentity: customers\n"
    err = SchemeError(
        "s.yaml",
        [Problem(msg("required key '{key}' is missing: add `{key}: …`", key="period"), 1, 1)],
        text,
    )
    zh = err.render("zh").splitlines()
    assert zh[0] == "s.yaml:1:1：缺少必填键“period”：请添加 `period: …`".replace("：", ": ", 1)
    assert zh[-1] == "请修改方案文件后再运行 `pingji validate`。"
    assert err.render("en").splitlines()[0] == (
        "s.yaml:1:1: required key 'period' is missing: add `period: …`"
    )


def test_the_layers_raise_messages_that_read_in_chinese(tmp_path) -> None:
    with pytest.raises(Exception) as info:
        Period.parse("2025-13x")
    with use_language("zh"):
        assert str(info.value) == (
            "“2025-13x”不是期间：请写年（2025）、季度（2025-Q3）或月（2025-07）"
        )
    from pingji import expr

    with pytest.raises(expr.ExprError) as bad:
        expr.check(expr.parse("sales + 'x'"), {"sales": "number"})
    assert str(bad.value) == "'+' needs numbers, but this is a string"
    with use_language("zh"):
        assert str(bad.value) == "“+”需要数字，但这里是文本"


# ----------------------------------------------------------------------------- the CLI

CUSTOMERS = "customer_id,name\nC1,甲公司\nC2,乙公司\n"
SALES = "customer_id,date,amount\nC1,2025-03-01,1000\nC2,2025-05-01,12x\n"
SCHEME = """\
id: small
entity: customers
period: year
metrics:
  sales: {sum: sales.amount}
tree:
  id: total
  children:
    - {id: s, weight: 1, value: sales, rule: {linear: {zero_at: 0, full_at: 100}}}
"""


@pytest.fixture
def bad_data(tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "data"
    data.mkdir()
    (data / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    (data / "sales.csv").write_text(SALES, encoding="utf-8")  # line 3: amount "12x"
    scheme = tmp_path / "small.yaml"
    scheme.write_text(SCHEME, encoding="utf-8")
    return scheme, data


def cli(monkeypatch, capsys, environ: dict[str, str], *args: str) -> tuple[int, str]:
    for name in ("PINGJI_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    code = main(list(args))
    return code, capsys.readouterr().err


def test_the_cli_in_a_chinese_locale_prints_a_chinese_data_error(
    bad_data, monkeypatch, capsys
) -> None:
    scheme, data = bad_data
    args = ("evaluate", str(scheme), "--data", str(data), "--period", "2025")
    code, err = cli(monkeypatch, capsys, {"LANG": "zh_CN.UTF-8"}, *args)
    assert code == 2
    assert " ".join(err.split()) == (
        f"错误：{data / 'sales.csv'}:3：列“amount”：不是金额"
        "（实际为 '12x'，应为金额，如 1234.56（最多 4 位小数））"
    )
    assert i18n.language() == "en"  # the CLI's language does not outlive the command


def test_the_cli_in_the_c_locale_prints_it_in_english(bad_data, monkeypatch, capsys) -> None:
    scheme, data = bad_data
    args = ("evaluate", str(scheme), "--data", str(data), "--period", "2025")
    code, err = cli(monkeypatch, capsys, {"LANG": "C"}, *args)
    assert code == 2
    assert " ".join(err.split()) == (
        f"Error: {data / 'sales.csv'}:3: column 'amount': not an amount "
        "(got '12x', expected an amount such as 1234.56 (at most 4 decimals))"
    )


def test_pingji_lang_overrides_the_locale(bad_data, monkeypatch, capsys) -> None:
    scheme, _data = bad_data
    code, err = cli(
        monkeypatch, capsys, {"LANG": "C", "PINGJI_LANG": "zh"}, "validate", str(scheme)
    )
    assert code == 0
    assert err.strip() == "通过：" + str(scheme) + " — small：1 个指标，2 个节点，0 个等级"


def test_the_installed_command_reads_the_locale_of_its_process(bad_data) -> None:
    scheme, _data = bad_data
    bad = scheme.with_name("bad.yaml")
    bad.write_text(SCHEME.replace("period: year", "period: yearly"), encoding="utf-8")
    run = [sys.executable, "-m", "pingji.cli.main", "validate", str(bad)]
    zh = subprocess.run(run, capture_output=True, text=True, env={"LANG": "zh_CN.UTF-8"})
    en = subprocess.run(run, capture_output=True, text=True, env={"LANG": "C.UTF-8"})
    assert (zh.returncode, en.returncode) == (2, 2)
    assert f"错误：{bad}:3:9: 应为以下之一：" in zh.stderr
    assert f"Error: {bad}:3:9: expected one of " in en.stderr
    assert zh.stderr.rstrip().endswith("请修改方案文件后再运行 `pingji validate`。")


# ----------------------------------------------------------------------------- punctuation


def _strings(data):
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from _strings(value)
    elif isinstance(data, str):
        yield data


def test_full_width_marks_stand_next_to_chinese_and_thousands_separators_stay() -> None:
    assert i18n.full_width("线性计分:100,000 得 0 分,2,100,000 得满分") == (
        "线性计分：100,000 得 0 分，2,100,000 得满分"
    )
    assert i18n.full_width("回款率(collection_rate):x") == "回款率（collection_rate）：x"
    # intervals, a function's arguments and code in backticks keep ASCII
    kept = "分段：≤ 30 → 7 分；(30, 60] → 5 分；(0.9, 1) → 4；clamp(x, 0, 1)（限定）；`键: 值`"
    assert i18n.half_width_in_chinese(kept) == []
    assert i18n.full_width("检查日0(季末前0天)") == "检查日0（季末前0天）"


def test_the_built_in_schemes_and_their_rules_in_words_use_full_width_punctuation() -> None:
    from ruamel.yaml import YAML

    from pingji.scheme.describe import describe_group, describe_metric, describe_rule
    from pingji.templates import builtin_names, builtin_path, resolve_scheme

    offending = []
    for name in builtin_names():
        rs = resolve_scheme(name)
        texts = [
            describe_group(rs, rn) if rn.node.is_group else describe_rule(rn)
            for rn in rs.nodes.values()
        ]
        texts += [describe_metric(m) for m in rs.scheme.metrics.values()]
        texts += _strings(YAML(typ="safe").load(builtin_path(name).read_text(encoding="utf-8")))
        offending += [(name, t) for t in texts if i18n.half_width_in_chinese(t)]
    assert offending == []


def _python_texts(path: Path) -> list[str]:
    """Return the strings of a Python file, the pieces of f-strings included: the texts it
    marks for translation, _("…"), and the Chinese it shows as written; docstrings left out
    (English, quoting Chinese examples)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def _web_counts() -> dict[str, int]:
    """Return, per template, catalog and Python file of the web app, how many ASCII marks
    stand next to Chinese in its lines, msgids or strings."""
    import pingji.web

    web = Path(pingji.web.__file__).parent
    texts = {}
    for path in sorted(web.rglob("*.html")):
        texts[path] = path.read_text(encoding="utf-8").splitlines()
    for path in sorted(web.glob("**/locale/en/LC_MESSAGES/django.po")):
        texts[path] = list(read_po(path))
    for path in sorted(web.rglob("*.py")):
        texts[path] = _python_texts(path)
    return {
        str(path.relative_to(web)): sum(len(i18n.half_width_in_chinese(x)) for x in lines)
        for path, lines in texts.items()
    }


def test_the_web_apps_count_reads_python_strings_but_not_docstrings(tmp_path) -> None:
    source = tmp_path / "views.py"
    source.write_text(
        'def f(n):\n    """Return 已保存,请刷新."""\n'
        '    return _("已保存,请刷新") + f"第 {n} 版(草稿)" + "a,b"\n',
        encoding="utf-8",
    )
    texts = _python_texts(source)
    assert sorted(texts) == sorted(["已保存,请刷新", "第 ", " 版(草稿)", "a,b"])
    assert sum(len(i18n.half_width_in_chinese(t)) for t in texts) == 3


def test_no_ascii_punctuation_next_to_chinese_in_the_web_apps_texts() -> None:
    offending = {name: n for name, n in _web_counts().items() if n}
    assert offending == {}, "write ，；：（） in Chinese text (pingji.i18n.full_width)"


def test_the_audit_log_and_the_error_pages_are_written_full_width() -> None:
    counts = _web_counts()
    assert [n for n in counts if n.startswith("audit/") and counts[n]] == []


def test_the_engines_warnings_have_their_chinese_waiting_in_the_catalog() -> None:
    # engine/run.py and engine/coverage.py word these once they call msg() (see docs)
    rows = msg(
        "{count} row(s) of {table} name entities that are not in {entity}: ignored",
        count=5,
        table="payments",
        entity="customers",
    )
    assert (
        rows.render("en") == "5 row(s) of payments name entities that are not in customers: ignored"
    )
    assert rows.render("zh") == "payments 中有 5 行的评价对象不在 customers 中：已忽略"
    check = msg(
        "check {id} ({label}) failed: {share:.1%} < {at_least:.0%}",
        id="coverage",
        label="受访覆盖率",
        share=0.5833,
        at_least=0.7,
    )
    assert check.render("en") == "check coverage (受访覆盖率) failed: 58.3% < 70%"
    assert check.render("zh") == "检查 coverage（受访覆盖率）未通过：58.3% < 70%"
    where = msg("the data runs from {first} to {last}", first="2024-01-03", last="2024-12-28")
    empty = msg(
        "period {period} ({start} to {end}) has no row of {tables} inside the scheme's "
        "windows; {where}",
        period="2025",
        start="2025-01-01",
        end="2025-12-31",
        tables="sales, payments",
        where=where,
    )
    assert empty.render("zh") == (
        "期间 2025（2025-01-01 至 2025-12-31）在方案的时间窗口内没有 sales, payments 的数据行；"
        "数据的日期范围是 2024-01-03 至 2024-12-28"
    )


def test_the_data_layers_common_errors_read_in_chinese(tmp_path) -> None:
    from pingji.data import open_dataset

    (tmp_path / "customers.csv").write_text("customer_id,name\nC1,甲\nC1,乙\n", encoding="utf-8")
    (tmp_path / "sales.csv").write_text("customer_id,amount\nC1,5\n", encoding="utf-8")
    ds = open_dataset(str(tmp_path))
    words = {}
    for name, call in {
        "duplicate": lambda: ds.table("customers"),
        "missing column": lambda: ds.table("sales"),
        "missing table": lambda: ds.require("payments", ["amount"], msg("scheme {id}", id="x")),
    }.items():
        with pytest.raises(DataError) as info:
            call()
        words[name] = (info.value.render("zh"), info.value.render("en"))
    assert words["duplicate"] == (
        f"{tmp_path / 'customers.csv'}:3：列“customer_id”：键重复，首次出现在第 2 行"
        "（实际为 'C1'，应为每个 customer_id 只出现一次）",
        f"{tmp_path / 'customers.csv'}:3: column 'customer_id': duplicate key, first on line 2 "
        "(got 'C1', expected each customer_id once)",
    )
    assert words["missing column"][0] == (
        f"{tmp_path / 'sales.csv'}:1：列“date”：缺少必填列；表头为 customer_id, amount"
        "（应为列 customer_id, date）"
    )
    assert words["missing table"] == (
        f"{tmp_path}：缺少表“payments”：方案 x 需要 payments.csv/.parquet/.xlsx（含列 amount）",
        f"{tmp_path}: table 'payments' is missing: scheme x needs payments.csv/.parquet/.xlsx "
        "with columns amount",
    )


def test_a_file_too_wide_names_the_limit(tmp_path, monkeypatch) -> None:
    from pingji.data import open_dataset, validate

    monkeypatch.setattr(validate, "MAX_COLUMNS", 3)
    (tmp_path / "customers.csv").write_text("customer_id,name,a,b\nC1,甲,1,2\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        open_dataset(str(tmp_path)).table("customers")
    assert info.value.render("zh") == (
        f"{tmp_path / 'customers.csv'}:1：文件有 4 列，超过上限 3 列：请只保留需要的列"
    )
