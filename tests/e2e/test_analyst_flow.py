"""An analyst's day on an empty workspace, in the browser: import the sample data file by file
through the import page, upload and publish a scheme, run it, open a scorecard, export the
results to Excel and open the file. Every figure is checked against the engine evaluating
the same files directly (the command-line path), not against numbers the app printed."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pyarrow.csv as pacsv
import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

SCHEME = "customer-composite"
PERIOD = "2025"
ENTITIES = 60
RUN_TIMEOUT = 120_000  # ms: a background run of 60 entities takes a second or two
TASK_TIMEOUT = 60_000  # ms: the worker inspects or commits a sample file in well under a second


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    """The built-in's sample data set as the CSV files a user would upload."""
    from pingji.templates.sample import generate

    folder = tmp_path_factory.mktemp("sample") / SCHEME
    generate(SCHEME, folder, entities=ENTITIES, seed=7)
    return folder


@pytest.fixture(scope="module")
def expected(sample) -> dict[str, dict]:
    """The engine's own results on the same files: entity id → result row."""
    from pingji.data import open_dataset
    from pingji.engine import evaluate
    from pingji.templates import resolve_scheme

    ev = evaluate(resolve_scheme(SCHEME), open_dataset(sample), PERIOD)
    return {row["entity_id"]: row for row in ev.table.to_pylist()}


def number(n: int) -> str:
    """A regular expression for a whole number written with or without thousands commas."""
    return f"{n:,}".replace(",", ",?")


def upload(page, path: Path, table: str) -> None:
    """Upload one file on the import page and wait on its preview until the background
    worker has inspected it (the page polls, then reloads with the report)."""
    page.goto("/imports/upload/")
    page.select_option("select[name=table]", table)
    page.set_input_files("input[name=file]", str(path))
    page.get_by_role("button", name="上传并检查").click()
    expect(page).to_have_url(re.compile(r"/imports/uploads/[^/]+/$"))
    expect(page.locator(".tile", has_text="数据行")).to_be_visible(timeout=TASK_TIMEOUT)
    expect(page.locator("#upload-progress")).to_have_count(0)


def test_it_imports_publishes_runs_and_exports(page_as, sample, expected, shot, tmp_path):
    page = page_as("analyst")

    # 1. Import every file of the data set: upload, preview, commit (all rows or none).
    files = sorted(sample.glob("*.csv"))
    assert len(files) >= 8
    for path in files:
        rows = pacsv.read_csv(path).num_rows
        upload(page, path, path.stem)
        if path.stem == "customers":
            shot(page, "import-preview")
        commit = page.get_by_role("button", name=re.compile(rf"导入全部 {number(rows)} 行"))
        expect(commit).to_be_visible()
        commit.click()
        # the worker commits it while the page polls; then the page opens the new batch
        expect(page).to_have_url(re.compile(r"/imports/\d+/$"), timeout=TASK_TIMEOUT)
        expect(page.locator("ul.messages")).to_contain_text(re.compile(rf"{number(rows)} 行"))

    # The same file again is recognised by its checksum and cannot be committed twice.
    upload(page, sample / "customers.csv", "customers")
    expect(page.get_by_text(re.compile(r"此文件已于 .* 导入为批次 #\d+"))).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("导入全部"))).to_have_count(0)
    page.get_by_role("button", name="放弃").click()

    page.goto("/imports/")
    for path in files:
        expect(page.locator("main")).to_contain_text(path.name)
    shot(page, "imports-list")

    # 2. Upload the scheme's YAML as a new scheme (a draft), then publish it.
    from pingji.templates import builtin_text

    yaml_file = tmp_path / f"{SCHEME}.yaml"
    yaml_file.write_text(builtin_text(SCHEME), encoding="utf-8")
    page.goto("/schemes/upload/")
    page.set_input_files("input[name=file]", str(yaml_file))
    page.get_by_role("button", name="检查并保存").click()
    expect(page).to_have_url(re.compile(rf"/schemes/{SCHEME}/v1/$"))
    page.get_by_role("button", name="发布", exact=True).click()  # confirms the dialog
    expect(page.locator("ul.messages")).to_contain_text("已发布第 1 版")
    shot(page, "scheme-detail")

    # 3. Start a run of the published version for the sample period; wait until it is done.
    page.goto("/runs/new/")
    option = page.locator("#id_version option", has_text=SCHEME)
    page.select_option("#id_version", option.get_attribute("value"))
    page.wait_for_url(re.compile(r"/runs/new/\?version=\d+"))
    page.fill("input[name=period]", PERIOD)
    page.get_by_role("button", name="开始运行").click()
    expect(page).to_have_url(re.compile(r"/runs/\d+/$"))
    expect(page.locator("h1 .status")).to_have_text("已完成", timeout=RUN_TIMEOUT)
    run_url = page.url
    expect(page.locator(".tiles .tile").first).to_contain_text(f"{ENTITIES}")
    batches = page.locator("dt:has-text('读取的数据批次') + dd a")
    # a run lists the batches of the tables its scheme reads
    from pingji.templates import resolve_scheme
    from pingji.web.runs.services import tables_read

    read = set(tables_read(resolve_scheme(SCHEME)))
    expect(batches).to_have_count(len([f for f in files if f.stem in read]))
    shot(page, "run-detail")

    # 4. The scorecard of the first entity in the results table: the engine's grade.
    first = page.locator("table.results tbody tr td a").first
    entity_id = first.inner_text().strip()
    first.click()
    expect(page).to_have_url(re.compile(rf"/entities/{entity_id}/$"))
    want = expected[entity_id]
    expect(page.locator(".sc-grade")).to_have_text(want["grade"])
    expect(page.locator("table.sc-tree")).to_be_visible()
    expect(page.locator("[data-figure] .main-svg").first).to_be_visible()  # radar drawn
    shot(page, "scorecard")

    # "Why": the fact rows behind a metric.
    page.locator("a.sc-why").first.click()
    expect(page.locator("h1")).to_be_visible()
    expect(page.get_by_text("计算方式")).to_be_visible()
    shot(page, "scorecard-why")

    # 5. Export Excel and open the file: Chinese headers, one row per entity, the grades.
    page.goto(run_url)
    with page.expect_download() as info:
        page.get_by_role("link", name="导出 Excel").click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.suffix == ".xlsx"
    ws = load_workbook(saved, read_only=True)["评价结果"]
    rows = list(ws.iter_rows(values_only=True))
    header, data = rows[0], rows[1:]
    assert "编号" in header and "等级" in header and "得分" in header, header
    grades = {r[header.index("编号")]: r[header.index("等级")] for r in data}
    assert len(data) == ENTITIES
    assert grades == {k: v["grade"] for k, v in expected.items()}
    assert Counter(grades.values()) == Counter(v["grade"] for v in expected.values())
