"""`python -m pingji.web.manage …` — Django's management commands with pingji's settings."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    """Run a Django management command."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pingji.web.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["pingji-manage", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
