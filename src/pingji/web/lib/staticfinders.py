"""Serve plotly.min.js from the installed plotly package, and nothing else of its data."""

from __future__ import annotations

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PLOTLY_JS = "plotly.min.js"
PLOTLY_DIR = Path(plotly.__file__).parent / "package_data"


class PlotlyFinder(BaseFinder):
    """Find `plotly.min.js` in the plotly package (no CDN; works offline).

    Adding the package's data folder to STATICFILES_DIRS would collect every file in it
    (schemas, templates, other bundles) as public static files."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=str(PLOTLY_DIR))

    def check(self, **kwargs):
        """Report nothing: the file ships with a required package."""
        return []

    def find(self, path, find_all=False, **kwargs):
        """Return the file's path for `plotly.min.js`, nothing for any other path."""
        if path != PLOTLY_JS:
            return [] if find_all else None
        found = str(PLOTLY_DIR / PLOTLY_JS)
        return [found] if find_all else found

    def list(self, ignore_patterns):
        """Yield the one file this finder serves."""
        yield PLOTLY_JS, self.storage
