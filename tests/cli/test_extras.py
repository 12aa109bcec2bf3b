"""A command that needs an optional extra names the extra to install, and exits 2."""

from __future__ import annotations

import importlib.util

import pytest

from pingji.cli.main import main
from pingji.data import open_dataset
from pingji.extras import MissingExtra


@pytest.fixture
def without(monkeypatch):
    """Make the given top-level modules look uninstalled."""

    def hide(*modules: str) -> None:
        real = importlib.util.find_spec

        def find_spec(name, *args, **kwargs):
            return None if name.split(".")[0] in modules else real(name, *args, **kwargs)

        monkeypatch.setattr("pingji.extras.importlib.util.find_spec", find_spec)

    return hide


def test_it_names_the_web_extra_when_serve_cannot_run(without, capsys):
    without("django", "waitress")
    assert main(["serve", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "pingji serve needs the web application" in err
    assert "pip install 'pingji[web]'" in err
    assert "django, waitress" in err


def test_it_names_the_postgres_extra_for_a_database_url(without):
    without("psycopg")
    with pytest.raises(MissingExtra, match=r"pip install 'pingji\[postgres\]'"):
        open_dataset("postgresql://nobody@127.0.0.1:1/none")


def test_a_folder_data_set_needs_no_extra(without, tmp_path):
    without("psycopg", "django")
    (tmp_path / "customers.csv").write_text("customer_id\nA\n", encoding="utf-8")
    assert open_dataset(tmp_path).has("customers")
