"""Static files: plotly.min.js comes from the plotly package, and nothing else of its data."""

from __future__ import annotations

from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import override_settings

from pingji.web.lib.staticfinders import PLOTLY_DIR


def test_it_finds_plotly_min_js_in_the_installed_package():
    assert finders.find("plotly.min.js") == str(PLOTLY_DIR / "plotly.min.js")


def test_it_collects_no_other_file_of_the_plotly_package(tmp_path):
    others = [p.name for p in PLOTLY_DIR.iterdir() if p.name != "plotly.min.js"]
    assert others, "the plotly package ships other files; the check below would prove nothing"
    with override_settings(STATIC_ROOT=tmp_path):
        call_command("collectstatic", interactive=False, verbosity=0)
    collected = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    assert "plotly.min.js" in collected
    assert not collected & set(others)
