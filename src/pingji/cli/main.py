"""The `pingji` command: thin commands over the engine, one console, known errors as one line."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from pingji.errors import BadInput, PingjiError
from pingji.i18n import (
    catalog,
    language,
    language_from_env,
    msg,
    os_reason,
    render,
    reset_language,
    set_language,
)

app = typer.Typer(
    name="pingji",
    help="pingji 评级 — apply evaluation schemes (YAML) to your data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, highlight=False, soft_wrap=True)  # a message is one line, never wrapped
_state = {"debug": False}

SchemeArg = Annotated[str, typer.Argument(help="A built-in scheme name or a YAML file.")]
DataOpt = Annotated[
    str,
    typer.Option(
        "--data",
        "-d",
        help="Data folder (CSV/Parquet/XLSX), postgresql:// URL, spark:DB or hive:DB.",
    ),
]
PeriodOpt = Annotated[str, typer.Option("--period", "-p", help="Period: 2025, 2025-Q3 or 2025-07.")]
SourcesOpt = Annotated[
    Path | None,
    typer.Option(
        "--sources",
        help="A sources.yaml mapping tables onto your own files, sheets, tables and columns "
        "(default: sources.yaml in the data folder).",
    ),
]
ParamOpt = Annotated[
    list[str] | None, typer.Option("--param", help="Override a parameter: name=value.")
]
EngineOpt = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="duckdb (default for a folder) or spark; spark:DB / hive:DB data imply spark.",
    ),
]
SparkMasterOpt = Annotated[
    str | None,
    typer.Option(
        "--spark-master",
        envvar="PINGJI_SPARK_MASTER",
        help="Spark master URL for --engine spark (default local[*]).",
    ),
]
MemoryLimitOpt = Annotated[
    str | None,
    typer.Option(
        "--memory-limit",
        help="Memory DuckDB may use, e.g. 4GB; beyond it, it spills to disk "
        "(default: PINGJI_MEMORY_LIMIT, else 80% of RAM).",
    ),
]
TempDirOpt = Annotated[
    str | None,
    typer.Option(
        "--temp-dir",
        help="Folder DuckDB spills to (default: PINGJI_TEMP_DIR, else the system's temporary "
        "folder).",
    ),
]


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    """pingji 评级 — apply evaluation schemes (YAML) to your data."""
    _state["debug"] = debug


def _params(items: list[str] | None) -> dict[str, str]:
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise BadInput(msg("--param expects name=value, got {item}", item=repr(item)))
        out[name.strip()] = value.strip()
    return out


class _Progress:
    """A spinner with the current phase on a terminal's stderr; silent when piped."""

    def __init__(self) -> None:
        self.status = err.status("") if err.is_terminal else None

    def __enter__(self):
        if self.status:
            self.status.__enter__()
        return self

    def phase(self, text: str) -> None:
        if self.status:
            self.status.update(text)

    def __exit__(self, *exc):
        if self.status:
            self.status.__exit__(*exc)


@app.command()
def evaluate(
    scheme: SchemeArg,
    data: DataOpt,
    period: PeriodOpt,
    param: ParamOpt = None,
    format: Annotated[
        str, typer.Option("--format", "-f", help="jsonl, csv, xlsx or parquet.")
    ] = "jsonl",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here instead of stdout.")
    ] = None,
    sources: SourcesOpt = None,
    engine: EngineOpt = None,
    spark_master: SparkMasterOpt = None,
    allow_empty: Annotated[
        bool,
        typer.Option(
            "--allow-empty",
            help="Evaluate even when no fact row falls inside the period's windows.",
        ),
    ] = False,
    memory_limit: MemoryLimitOpt = None,
    temp_dir: TempDirOpt = None,
) -> None:
    """Evaluate every entity of a data set for one period."""
    from pingji.data import limits, open_dataset
    from pingji.engine import evaluate as run
    from pingji.engine.digest import load_digest
    from pingji.engine.run import timed, whole_numbers_in_range
    from pingji.output import FORMATS, write

    if format not in FORMATS:
        raise BadInput(
            msg(
                "unknown format '{format}' (one of {formats})",
                format=format,
                formats=", ".join(FORMATS),
            )
        )
    # bad values are refused before anything runs
    with limits.configured(memory_limit, temp_dir), _Progress() as progress:
        progress.phase("读取方案 reading the scheme")
        rs = load_digest(scheme)  # what running needs: parsed only when not seen before
        progress.phase("打开数据 opening the data")
        ds = open_dataset(data, sources, engine=engine, spark_master=spark_master)
        progress.phase(f"评价中 evaluating {rs.id} for {period}")
        # read once, by the writer (Excel reads it twice): straight from the query to the file
        ev = run(
            rs, ds, period, _params(param), allow_empty=allow_empty, materialise=format == "xlsx"
        )
        progress.phase("写出结果 writing results")
        with timed(f"write {format}"), whole_numbers_in_range():
            written = write(ev, format, out)
    for w in ev.warnings:
        err.print(Text.assemble((str(msg("Warning: ")), "yellow"), render(w)))
    if out is not None:
        rows = ev.rows if written is None else written
        err.print(str(msg("{count:,} results → {out}", count=rows, out=str(out))))


@app.command()
def validate(
    scheme: SchemeArg,
    data: Annotated[
        str | None,
        typer.Option(
            "--data", "-d", help="Also check the tables the scheme reads in this data set."
        ),
    ] = None,
    sources: SourcesOpt = None,
) -> None:
    """Check a scheme file (and a data set against it); exit 0 when valid, 2 otherwise."""
    from pingji.templates import resolve_scheme

    rs = resolve_scheme(scheme)
    err.print(
        str(
            msg(
                "OK: {file} — {label}: {metrics} metrics, {nodes} nodes, {grades} grades",
                file=rs.file,
                label=rs.scheme.label or rs.id,
                metrics=len(rs.scheme.metrics),
                nodes=len(rs.nodes),
                grades=len(rs.grade_codes),
            )
        )
    )
    if data is not None:
        from pingji.data import open_dataset

        ds = open_dataset(data, sources)
        ds.use(rs.reads())
        checked = []
        for name, columns in rs.columns_read.items():
            if name in ("ratings", "overrides") and not ds.has(name):
                continue  # entered in the web app, or none given: not a data file's business
            ds.require(name, sorted(columns), msg("scheme {id}", id=rs.id))
            checked.append(name)
        # the checks that need the scheme, as evaluate runs them (over every period here)
        from pingji.engine.compile import data_guards
        from pingji.engine.run import run_guards

        run_guards(data_guards(rs, ds), ds)
        err.print(str(msg("OK: {data} — {tables}", data=ds.description, tables=", ".join(checked))))


@app.command()
def explain(
    scheme: SchemeArg,
    data: DataOpt,
    period: PeriodOpt,
    entity: Annotated[
        str | None, typer.Option("--entity", "-e", help="Explain one entity's result.")
    ] = None,
    param: ParamOpt = None,
    sql: Annotated[
        str | None,
        typer.Option("--dialect", help="SQL dialect to print (default: the data's engine)."),
    ] = None,
    sources: SourcesOpt = None,
    engine: EngineOpt = None,
    spark_master: SparkMasterOpt = None,
) -> None:
    """Show the compiled plan and SQL, or one entity's whole breakdown."""
    from pingji.data import open_dataset
    from pingji.engine import evaluate, plan_for
    from pingji.engine.explain import explain_entity, explain_plan
    from pingji.engine.params import resolve_params
    from pingji.periods import Period
    from pingji.templates import resolve_scheme

    rs = resolve_scheme(scheme)
    ds = open_dataset(data, sources, engine=engine, spark_master=spark_master)
    p = Period.parse(period, rs.scheme.period)
    if entity is None:
        if sql is not None:
            from pingji.engine.compile import dialect_of

            sql = dialect_of(sql)
        plan = plan_for(rs, ds, p, _params(param), dialect=sql)
        typer.echo(explain_plan(rs, plan, resolve_params(rs, _params(param))))
    else:
        ev = evaluate(rs, ds, p, _params(param), entity, allow_empty=True)
        typer.echo(explain_entity(ev, resolve_params(rs, _params(param))))


@app.command("compile")
def compile_(
    scheme: SchemeArg,
    period: PeriodOpt,
    dialect: Annotated[
        str, typer.Option("--dialect", help="duckdb (default), postgres or spark.")
    ] = "duckdb",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the script here instead of stdout.")
    ] = None,
    param: ParamOpt = None,
    sources: Annotated[
        Path | None,
        typer.Option(
            "--sources",
            help="A sources.yaml whose `table:` entries and column names the script reads.",
        ),
    ] = None,
    with_table: Annotated[
        list[str] | None,
        typer.Option(
            "--with",
            help="An optional table your database holds (overrides); repeatable.",
        ),
    ] = None,
) -> None:
    """Write one period's evaluation as a SQL script to run in your own database."""
    from pingji.engine.export import export_script
    from pingji.periods import Period
    from pingji.templates import resolve_scheme

    rs = resolve_scheme(scheme)
    mapping = {}
    if sources is not None:
        from pingji.data.sources import read_sources

        mapping = read_sources(sources)
    p = Period.parse(period, rs.scheme.period)
    script = export_script(rs, p, dialect, _params(param), mapping, with_table or ())
    if out is None:
        sys.stdout.write(script)
        return
    if not out.parent.is_dir():
        raise BadInput(
            msg(
                "cannot write {path}: folder {folder} does not exist",
                path=str(out),
                folder=str(out.parent),
            )
        )
    out.write_text(script, encoding="utf-8")
    err.print(f"{rs.id} {p} → {out}")


@app.command()
def templates(
    show: Annotated[
        str | None, typer.Option("--show", help="Print a built-in scheme's YAML.")
    ] = None,
) -> None:
    """List the built-in schemes, or print one to copy and adapt."""
    from pingji.templates import builtin_names, builtin_text, resolve_scheme

    if show:
        typer.echo(builtin_text(show), nl=False)
        return
    for name in builtin_names():
        rs = resolve_scheme(name)
        typer.echo(f"{name:<28} {rs.scheme.label or ''}  ({rs.scheme.entity}, {rs.scheme.period})")


@app.command("sample-data")
def sample_data(
    name: Annotated[str, typer.Argument(help="A built-in scheme name.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the CSV files into.")],
    entities: Annotated[
        int, typer.Option("--entities", "-n", min=1, help="How many entities.")
    ] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same data).")] = 7,
) -> None:
    """Write realistic sample data for a built-in scheme."""
    from pingji.templates.sample import SAMPLE_PERIODS, generate

    paths = generate(name, out, entities=entities, seed=seed)
    err.print(
        str(
            msg(
                "{count} files → {out} (evaluate with --period {period})",
                count=len(paths),
                out=str(out),
                period=SAMPLE_PERIODS.get(name, "?"),
            )
        )
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    threads: Annotated[int, typer.Option(min=1, help="Request threads per process.")] = 8,
    worker: Annotated[bool, typer.Option(help="Also start the background worker.")] = True,
    processes: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Server processes (default: one per core, at most 8; 1 on Windows).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Start the web application (migrations, static files, worker, production server)."""
    from pingji.extras import require

    require("web", "pingji serve")
    from pingji.web.serve import serve as run_server

    code = run_server(host=host, port=port, threads=threads, worker=worker, processes=processes)
    if code:  # the server processes stopped by themselves (e.g. the port was taken)
        raise SystemExit(code)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def manage(ctx: typer.Context) -> None:
    """Run a Django management command of the web application (createsuperuser, …)."""
    from pingji.extras import require

    require("web", "pingji manage")
    from pingji.web.manage import main as manage_main

    manage_main(list(ctx.args))


def main(argv: list[str] | None = None) -> int:
    """Run the command line; known errors print one `Error:` line and exit 1 or 2.

    Messages are in Chinese when PINGJI_LANG, or else the locale (LC_ALL, LC_MESSAGES, LANG),
    starts with "zh"; in English otherwise."""
    token = set_language(language_from_env())
    try:
        return _main_in_language(argv)
    finally:
        reset_language(token)


def _command():
    """Return the click command of the app, its help texts in the active language."""
    command = typer.main.get_command(app)
    if language() != "en" or "typer.rich_utils" in sys.modules:  # (English: typer's own)
        _translate_help(command, catalog(language()).gettext)
    return command


_TYPER_TEXTS: dict[str, str] = {}  # typer's headings and notes as typer has them (English)


def _translate_help(command, gettext) -> None:
    """Word the help of a command, its parameters and subcommands through the catalog (the
    help texts above are its ids), and typer's own headings and notes."""
    from typer import rich_utils  # loaded by typer only to print help or an error

    for name in (
        "ARGUMENTS_PANEL_TITLE",
        "OPTIONS_PANEL_TITLE",
        "COMMANDS_PANEL_TITLE",
        "DEFAULT_STRING",
        "ENVVAR_STRING",
        "REQUIRED_LONG_STRING",
        "RICH_HELP",
    ):
        setattr(rich_utils, name, gettext(_TYPER_TEXTS.setdefault(name, getattr(rich_utils, name))))
    # rich cuts a help text it cannot wrap at spaces with "…": Chinese has none, so fold it
    for name in ("_make_rich_text", "_make_command_help"):
        make = getattr(rich_utils, name, None)
        if make is not None and not getattr(make, "folds", False):
            setattr(rich_utils, name, _folding(make))
    commands = [command, *getattr(command, "commands", {}).values()]
    context = _context_wording_usage(gettext) if gettext("Usage: ") != "Usage: " else None
    for cmd in commands:
        if context is not None:
            cmd.context_class = context
        if cmd.help:
            cmd.help = gettext(cmd.help)
        for param in cmd.params:
            if getattr(param, "help", None):
                param.help = gettext(param.help)
        if getattr(cmd, "_help_option", False) is None:  # typer makes --help on first use
            from typer._click.decorators import help_option

            help_option(["--help"])(cmd)
            option = cmd.params.pop()
            option.help = gettext(option.help)
            cmd._help_option = option


def _context_wording_usage(gettext):
    """Return a click context class whose help formatter words "Usage: " with `gettext`."""
    from typer._click.core import Context
    from typer._click.formatting import HelpFormatter

    class Formatter(HelpFormatter):
        def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
            super().write_usage(prog, args, gettext("Usage: ") if prefix is None else prefix)

    class WordedContext(Context):
        formatter_class = Formatter

    return WordedContext


def _folding(make):
    """Return `make` (a typer function making a help text) making texts that fold."""

    def folding(*args, **kwargs):
        made = make(*args, **kwargs)
        if isinstance(made, Text):
            made.overflow = "fold"
        return made

    folding.folds = True  # type: ignore[attr-defined]
    return folding


# click's usage errors (English f-strings in typer's copy of click), worded
_USAGE_ERRORS: dict[re.Pattern, str] = {
    re.compile(r"Missing argument (?P<name>.+)\.$"): "Missing argument {name}.",
    re.compile(r"Missing option (?P<name>.+)\.$"): "Missing option {name}.",
    re.compile(r"No such option: (?P<name>\S+) \(Possible options: (?P<options>.+)\)$"): (
        "No such option: {name} (Possible options: {options})"
    ),
    re.compile(r"No such option: (?P<name>\S+)$"): "No such option: {name}",
    re.compile(r"No such command (?P<name>.+?)\. Did you mean (?P<options>.+)\?$"): (
        "No such command {name}. Did you mean {options}?"
    ),
    re.compile(r"No such command (?P<name>.+)\.$"): "No such command {name}.",
    re.compile(r"Got unexpected extra arguments? \((?P<args>.*)\)$"): (
        "Got unexpected extra argument(s) ({args})"
    ),
    re.compile(r"Invalid value for (?P<param>.+?): (?P<detail>.*)$", re.S): (
        "Invalid value for {param}: {detail}"
    ),
}


def _show_usage_error(exc) -> None:
    """Print a click usage error as click does, worded in the active language."""
    ctx = exc.ctx
    lines = []
    if ctx is not None:
        usage = ctx.get_usage()
        lines.append(usage.replace("Usage: ", catalog(language()).gettext("Usage: "), 1))
        if ctx.command.get_help_option(ctx) is not None:
            hint = msg(
                "Try '{command} {option}' for help.",
                command=ctx.command_path,
                option=ctx.help_option_names[0],
            )
            lines.append(str(hint))
        lines.append("")
    text = exc.format_message()
    for pattern, msgid in _USAGE_ERRORS.items():
        if found := pattern.match(text):
            text = str(msg(msgid, **found.groupdict()))
            break
    typer.echo("\n".join([*lines, str(msg("Error: ")) + text]), err=True)


def _main_in_language(argv: list[str] | None) -> int:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        _command()(args=argv, prog_name="pingji", standalone_mode=False)
    except PingjiError as exc:
        if debug:
            raise
        err.print(Text.assemble((str(msg("Error: ")), "bold red"), exc.render()), soft_wrap=True)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        err.print(str(msg("Aborted.")))
        return 130
    except Exception as exc:  # click usage errors, a path the system refused, the unexpected
        # typer vendors click: its usage errors know how to show themselves (in English)
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            if language() == "en" or not hasattr(exc, "ctx"):
                exc.show()
            else:
                _show_usage_error(exc)
            return exc.exit_code
        if debug:
            raise
        if isinstance(exc, OSError) and (exc.filename2 or exc.filename):  # an output folder …
            path = str(exc.filename2 or exc.filename)
            text = str(msg("cannot access {path}: {reason}", path=path, reason=os_reason(exc)))
            err.print(Text.assemble((str(msg("Error: ")), "bold red"), text), soft_wrap=True)
            return 2
        err.print(
            Text.assemble(
                (str(msg("Error: ")), "bold red"),
                str(
                    msg(
                        "internal error: {kind}: {detail} (run with --debug for the traceback)",
                        kind=type(exc).__name__,
                        detail=str(exc),
                    )
                ),
            )
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
