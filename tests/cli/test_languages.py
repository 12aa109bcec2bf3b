"""The command line speaks the locale's language: errors (the system's reasons, YAML's
problems, an unknown scheme) and the help, in Chinese under PINGJI_LANG=zh, else English."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pingji.cli.main import main
from pingji.i18n import os_reason, render
from pingji.templates import builtin_names

PINGJI = str(Path(sys.executable).with_name("pingji"))


def run(monkeypatch, capsys, lang: str, *args: str) -> tuple[int, str, str]:
    """Run the CLI in-process with PINGJI_LANG=lang; return (exit code, stdout, stderr)."""
    monkeypatch.setenv("PINGJI_LANG", lang)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8" if lang == "zh" else "C.UTF-8")
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, " ".join(err.split())


def test_an_unknown_built_in_is_named_with_the_built_ins(monkeypatch, capsys) -> None:
    args = ("evaluate", "no-such-builtin", "-d", ".", "-p", "2025")
    code, _out, err = run(monkeypatch, capsys, "zh", *args)
    assert code == 2
    assert err == (
        "错误：“no-such-builtin”既不是方案文件，也不是内置方案（内置方案："
        + "、".join(builtin_names())
        + "）"
    )
    code, _out, err = run(monkeypatch, capsys, "en", *args)
    assert code == 2
    assert err == (
        "Error: 'no-such-builtin' is neither a scheme file nor a built-in scheme (built-ins: "
        + ", ".join(builtin_names())
        + ")"
    )


def test_a_missing_scheme_file(monkeypatch, capsys, tmp_path) -> None:
    missing = tmp_path / "missing.yaml"
    code, _out, err = run(monkeypatch, capsys, "zh", "validate", str(missing))
    assert code == 2
    assert err == f"错误：{missing}: 方案文件不存在 请修改方案文件后再运行 `pingji validate`。"
    code, _out, err = run(monkeypatch, capsys, "en", "validate", str(missing))
    assert err.startswith(f"Error: {missing}: no such scheme file Fix the scheme file")


def test_a_directory_given_as_the_scheme(monkeypatch, capsys, tmp_path) -> None:
    folder = tmp_path / "schemes"
    folder.mkdir()
    args = ("evaluate", str(folder), "-d", str(tmp_path), "-p", "2025")
    code, _out, err = run(monkeypatch, capsys, "zh", *args)
    assert code == 2
    assert err.startswith(f"错误：{folder}: 无法读取文件：这是一个目录，不是文件 ")
    code, _out, err = run(monkeypatch, capsys, "en", *args)
    assert err.startswith(f"Error: {folder}: cannot read the file: it is a directory, not a file ")


def test_a_scheme_file_it_may_not_read(monkeypatch, capsys, tmp_path) -> None:
    scheme = tmp_path / "secret.yaml"
    scheme.write_text("id: x\n", encoding="utf-8")
    opened = Path.open

    def refuse(self, *args, **kwargs):  # as for a file of another user (tests may run as root)
        if self == scheme:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return opened(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    code, _out, err = run(monkeypatch, capsys, "zh", "validate", str(scheme))
    assert code == 2
    assert err.startswith(f"错误：{scheme}: 无法读取文件：没有权限 ")
    code, _out, err = run(monkeypatch, capsys, "en", "validate", str(scheme))
    assert err.startswith(f"Error: {scheme}: cannot read the file: permission denied ")


def test_the_systems_reasons_are_worded_and_others_kept() -> None:
    not_dir = NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
    assert render(os_reason(not_dir), "zh") == "路径中的某一段不是目录"
    assert render(os_reason(not_dir), "en") == "a part of the path is not a directory"
    missing = FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
    assert render(os_reason(missing), "zh") == "文件或目录不存在"
    full = OSError(errno.ENOSPC, "No space left on device")
    assert render(os_reason(full), "zh") == "No space left on device"


# YAML that ruamel refuses: (text, line:col, Chinese, English)
YAML_CASES = {
    "a colon inside a value": (
        "id: x\nlabel: a: b\n",
        "2:9",
        "YAML 格式错误：此处不能出现 `键: 值`：值中含有 `: ` 时请给整个值加引号，"
        "或检查这一行的缩进",
        "malformed YAML: mapping values are not allowed here",
    ),
    "a key without a colon": (
        "id: x\ntree:\n  kind: sum\n  children\n  label: y\n",
        "4:3",
        "YAML 格式错误：缺少冒号：这一行应写成 `键: 值`",
        "malformed YAML: could not find expected ':'",
    ),
    "a tab": (
        "id: x\nlabel:\tb\n",
        "2:7",
        "YAML 格式错误：这里有制表符（Tab）：YAML 只能用空格缩进和分隔，不能用 Tab",
        "malformed YAML: found a tab character: YAML indents and separates with spaces, not tabs",
    ),
    "a key twice": (
        "id: x\nid: y\n",
        "2:1",
        "YAML 格式错误：键“id”重复（这次的值为“y”，前面的值为“x”）：同一层中每个键只能出现一次",
        'malformed YAML: found duplicate key "id" with value "y" (original value: "x")',
    ),
    "a list not closed": (
        "id: x\nentity: [customers\nperiod: year\n",
        "3:7",
        "YAML 格式错误：列表 [ … ] 没有闭合：此处应为 `,` 或 `]`，实际为“:”",
        "malformed YAML: expected ',' or ']', but got ':'",
    ),
    "a line indented less than its mapping": (
        "id: x\ntree:\n  kind: sum\n label: y\n",
        "4:2",
        "YAML 格式错误：这一行的缩进与上文不一致：应与同一层的键对齐（此处读到 <block mapping start>）",
        "malformed YAML: expected <block end>, but found '<block mapping start>'",
    ),
    "a character that cannot start a value": (
        "id: x\nlabel: @home\n",
        "2:8",
        "YAML 格式错误：字符“@”不能作为值的开头：请给整个值加引号",
        "malformed YAML: found character '@' that cannot start any token",
    ),
    "a problem not worded (kept in parentheses)": (
        "id: x\nlabel: &\n",
        "2:9",
        "YAML 格式错误，请检查此处的缩进、冒号和引号（expected alphabetic or numeric "
        "character, but found '\\n'）",
        "malformed YAML: expected alphabetic or numeric character, but found '\\n'",
    ),
}


@pytest.mark.parametrize("case", YAML_CASES)
def test_a_yaml_syntax_error_names_the_place_and_what_was_expected(
    case, monkeypatch, capsys, tmp_path
) -> None:
    text, where, chinese, english = YAML_CASES[case]
    scheme = tmp_path / "bad.yaml"
    scheme.write_text(text, encoding="utf-8")
    code, _out, err = run(monkeypatch, capsys, "zh", "validate", str(scheme))
    assert code == 2
    assert err.startswith(f"错误：{scheme}:{where}: {chinese} ")
    code, _out, err = run(monkeypatch, capsys, "en", "validate", str(scheme))
    assert err.startswith(f"Error: {scheme}:{where}: {english} ")


def test_the_help_is_chinese_under_a_chinese_locale(monkeypatch, capsys) -> None:
    code, out, _err = run(monkeypatch, capsys, "zh", "--help")
    assert code == 0
    assert "pingji 评级 — 把评价方案（YAML）应用到你的数据上。" in out
    assert "对一个数据集中的每个对象评价一个期间。" in out
    assert "选项" in out and "命令" in out and "显示本帮助并退出。" in out
    assert "Options" not in out and "Show this message" not in out

    code, out, _err = run(monkeypatch, capsys, "zh", "evaluate", "--help")
    assert code == 0
    assert "用法：pingji evaluate [OPTIONS] {scheme}" in out
    assert "参数" in out and "内置方案名或 YAML 方案文件。" in out
    assert "期间：2025、2025-Q3 或 2025-07。" in out and "[必填]" in out
    assert "[默认：jsonl]" in out
    # a Chinese text is folded at the panel's edge, never cut with "…"
    assert "…" not in out
    flat = "".join(line.strip("│ ") for line in out.splitlines())
    assert "即使没有任何事实数据行落在期间的窗口内，也照常评价。" in flat


def test_the_help_is_english_otherwise(monkeypatch, capsys) -> None:
    run(monkeypatch, capsys, "zh", "evaluate", "--help")  # no Chinese left behind
    code, out, _err = run(monkeypatch, capsys, "en", "evaluate", "--help")
    assert code == 0
    assert "Evaluate every entity of a data set for one period." in out
    assert "Usage: pingji evaluate [OPTIONS] {scheme}" in out
    assert "Arguments" in out and "Options" in out and "[required]" in out
    assert "[default: jsonl]" in out and "Show this message and exit." in out
    assert "必填" not in out and "选项" not in out


USAGE_ERRORS = {
    "a missing argument": (
        ("evaluate",),
        "用法：pingji evaluate [OPTIONS] {scheme} 运行 'pingji evaluate --help' 查看帮助。 "
        "错误：缺少参数 'scheme'。",
        "Usage: pingji evaluate [OPTIONS] {scheme} Try 'pingji evaluate --help' for help. "
        "Error: Missing argument 'scheme'.",
    ),
    "a missing option": (
        ("evaluate", "x", "-d", "."),
        "用法：pingji evaluate [OPTIONS] {scheme} 运行 'pingji evaluate --help' 查看帮助。 "
        "错误：缺少选项 '--period' / '-p'。",
        "Usage: pingji evaluate [OPTIONS] {scheme} Try 'pingji evaluate --help' for help. "
        "Error: Missing option '--period' / '-p'.",
    ),
    "a misspelt option": (
        ("evaluate", "x", "-p", "2025", "--dta", "."),
        "用法：pingji evaluate [OPTIONS] {scheme} 运行 'pingji evaluate --help' 查看帮助。 "
        "错误：没有选项 --dta（可能是：--data, --out）",
        "Usage: pingji evaluate [OPTIONS] {scheme} Try 'pingji evaluate --help' for help. "
        "Error: No such option: --dta (Possible options: --data, --out)",
    ),
    "a misspelt command": (
        ("evalute",),
        "用法：pingji [OPTIONS] COMMAND [ARGS]... 运行 'pingji --help' 查看帮助。 "
        "错误：没有命令 'evalute'。是否想用 'evaluate', 'validate'？",
        "Usage: pingji [OPTIONS] COMMAND [ARGS]... Try 'pingji --help' for help. "
        "Error: No such command 'evalute'. Did you mean 'evaluate', 'validate'?",
    ),
}


@pytest.mark.parametrize("case", USAGE_ERRORS)
def test_a_usage_error_is_worded_in_the_locales_language(case, monkeypatch, capsys) -> None:
    args, chinese, english = USAGE_ERRORS[case]
    assert run(monkeypatch, capsys, "zh", *args)[::2] == (2, chinese)
    assert run(monkeypatch, capsys, "en", *args)[::2] == (2, english)


def test_an_output_that_is_a_folder_is_named_with_the_reason(monkeypatch, capsys, tmp_path) -> None:
    data = tmp_path / "data"
    assert main(["sample-data", "customer-composite", "-o", str(data), "-n", "3"]) == 0
    capsys.readouterr()
    folder = tmp_path / "out"
    folder.mkdir()
    args = ("evaluate", "customer-composite", "-d", str(data), "-p", "2025", "-o", str(folder))
    code, _out, err = run(monkeypatch, capsys, "zh", *args)
    assert (code, err) == (2, f"错误：无法访问 {folder}：这是一个目录，不是文件")
    code, _out, err = run(monkeypatch, capsys, "en", *args)
    assert (code, err) == (2, f"Error: cannot access {folder}: it is a directory, not a file")


def test_every_help_text_has_its_chinese_in_the_catalog() -> None:
    import typer

    from pingji.cli.main import app
    from pingji.i18n import catalog

    command = typer.main.get_command(app)
    texts = []
    for cmd in [command, *command.commands.values()]:
        texts += [cmd.help] + [getattr(p, "help", None) for p in cmd.params]
    texts = [t for t in texts if t]
    assert len(texts) > 40
    # typer's own headings and notes (typer.rich_utils), and the --help option's
    texts += ["Arguments", "Options", "Commands", "[default: {}]", "[env var: {}]"]
    texts += ["[required]", "Try [blue]'{command_path} {help_option}'[/] for help."]
    texts += ["Show this message and exit."]
    zh = catalog("zh")
    assert [t for t in texts if zh.gettext(t) == t] == []


@pytest.mark.parametrize(("lang", "title"), [("zh", "选项"), ("en", "Options")])
def test_the_installed_command_words_its_help_in_the_locales_language(lang, title) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PINGJI_LANG": lang,
        "LANG": "zh_CN.UTF-8" if lang == "zh" else "C.UTF-8",
        "PINGJI_CACHE_DIR": "off",
    }
    done = subprocess.run([PINGJI, "--help"], capture_output=True, text=True, env=env)
    assert done.returncode == 0
    assert title in done.stdout


def test_engine_errors_read_in_chinese(monkeypatch, capsys, tmp_path) -> None:
    """An unknown parameter (with the closest name), an unknown entity to explain and an
    ambiguous date read in Chinese, without English inside."""
    from pingji.engine.params import values_of
    from pingji.errors import BadInput

    from .test_cli import CUSTOMERS, write_tables

    with pytest.raises(BadInput) as unknown:
        values_of("s1", {"reject_limit": ("number", 1), "min_lines": ("integer", 3)},
                  {"reject_limt": "2"})  # fmt: skip
    assert unknown.value.render("zh") == (
        "方案 s1 没有参数“reject_limt”（参数：reject_limit, min_lines）（是否应为“reject_limit”？）"
    )
    assert unknown.value.render("en") == (
        "unknown parameter 'reject_limt' for scheme s1 (parameters: reject_limit, min_lines) "
        "(did you mean 'reject_limit'?)"
    )
    data = write_tables(tmp_path / "data", CUSTOMERS)
    args = ("explain", "customer-composite", "-d", str(data), "-p", "2025", "--entity", "C9")
    code, _out, err = run(monkeypatch, capsys, "zh", *args)
    assert (code, err) == (2, "错误：customers 中没有评价对象 C9")
    (data / "sales.csv").write_text("customer_id,date,amount\nC1,3/1/2025,10\n", encoding="utf-8")
    code, _out, err = run(
        monkeypatch, capsys, "zh", "evaluate", "customer-composite", "-d", str(data), "-p", "2025"
    )
    assert code == 2
    assert err.endswith("应为年份在前，如 2026-01-06、2026/1/6 或 2026年1月6日）")
