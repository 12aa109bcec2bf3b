"""`python -m pingji.web.manage load_builtins [--publish]`: add every built-in scheme that is
not there yet as version 1; with --publish also publish it. Safe to run again."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from pingji.web.schemes.services import load_builtins


class Command(BaseCommand):
    help = "Add every built-in scheme that is absent (version 1, built-in); --publish publishes it."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--publish",
            action="store_true",
            help="publish each built-in's version where the scheme has no published version",
        )

    def handle(self, *args, **options) -> None:
        done = load_builtins(publish_them=options["publish"])
        for item in done:
            self.stdout.write(item.describe())
        added = sum(d.added for d in done)
        published = sum(d.published for d in done)
        self.stdout.write(
            f"内置方案 built-ins: {len(done)} 个，新增 added {added}，发布 published {published}"
        )
