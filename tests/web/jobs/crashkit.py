"""Helpers run as separate processes by test_crash_recovery.py, on a real workspace with a
SQLite file (PINGJI_HOME) and the database task backend:

    python crashkit.py worker <stage>      the background worker (`pingji manage worker`);
                                           with a stage (run, commit, export) the work of
                                           that stage stops half-way: it leaves its files,
                                           writes <home>/reached-<stage> and waits forever
                                           (to be killed with SIGKILL)
    python crashkit.py setup               migrate, a user, the small data, a published scheme
    python crashkit.py run                 queue a run (prints its id)
    python crashkit.py commit [<upload>]   upload and inspect a new file, queue its commit
                                           (or queue the commit of an upload again)
    python crashkit.py export <run>        queue a background Excel export (prints its id)
    python crashkit.py recover             what `pingji serve` does first (prints counts)
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "runs" / "data"


def _home() -> Path:
    return Path(os.environ["PINGJI_HOME"])


def _stop_here(stage: str) -> None:
    (_home() / f"reached-{stage}").write_text(str(os.getpid()))
    while True:
        time.sleep(60)


def _half_way(stage: str) -> None:
    """Patch the work of `stage` so that it stops half-way, its leftovers in place."""
    if stage == "run":
        import pingji.engine.run as engine_run

        def evaluate(*args, **kwargs):
            _stop_here(stage)  # runs/<id>.partial/ exists by now

        engine_run.evaluate = evaluate
    elif stage == "commit":
        from pingji.data import batches
        from pingji.web.imports import services

        real = services.import_file

        def import_file(path, table, out, **kwargs):
            real(path, table, out, **kwargs)  # batches/<table>/pending-….parquet
            batches.upload_folder(path, table)  # a hard link in the temp folder
            _stop_here(stage)

        services.import_file = import_file
    elif stage == "export":
        from pingji.web.runs import exports

        def write_xlsx(run, filters, out, *args, progress=None, **kwargs):
            Path(out).write_bytes(b"PK half an Excel file")  # <name>.xlsx.partial
            if progress is not None:
                progress(1, 8)
            _stop_here(stage)

        exports.write_xlsx = write_xlsx
    elif stage != "none":
        raise SystemExit(f"unknown stage {stage}")


def worker(stage: str) -> None:
    import django

    django.setup()
    _half_way(stage)
    from django.core.management import call_command

    call_command(
        "worker", reload=False, startup_delay=False, interval=0.1, queue_name="*", verbosity=0
    )


def driver(command: str, *args: str) -> object:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from pingji.web.lib.access import ensure_roles

    if command == "setup":
        call_command("migrate", interactive=False, verbosity=0)
        ensure_roles()
        from django.contrib.auth.models import Group

        user = get_user_model().objects.create_user("analyst", password="x-pass-word-1")
        user.groups.add(Group.objects.get(name="analyst"))
        from pingji.web.imports.services import commit_batch
        from pingji.web.schemes.services import add_version, publish

        commit_batch(DATA / "customers.csv", "customers", user)
        commit_batch(DATA / "sales.csv", "sales", user)
        text = (DATA / "runs-test.yaml").read_text(encoding="utf-8")
        return publish(add_version(text, user), user).pk

    user = get_user_model().objects.get(username="analyst")
    if command == "run":
        from pingji.web.runs.services import create_run
        from pingji.web.schemes.models import SchemeVersion

        return create_run(SchemeVersion.objects.get(pk=int(args[0])), "2025", {}, user).pk
    if command == "commit":
        from django.core.files.uploadedfile import SimpleUploadedFile

        from pingji.web.imports import uploads
        from pingji.web.imports.tasks import commit_upload_task

        if args:
            upload = uploads.load(args[0])
        else:
            text = (DATA / "sales.csv").read_text(encoding="utf-8") + "K02,2025-06-01,1.00\n"
            file = SimpleUploadedFile("更多发货.csv", text.encode("utf-8"))
            upload = uploads.receive(file, "sales", user)
            uploads.inspect_upload(upload.id)
            upload = uploads.load(upload.id)
        assert uploads.begin_commit(upload), upload.state
        uploads.queued(upload, str(commit_upload_task.enqueue(upload.id, user.pk).id))
        return upload.id
    if command == "export":
        from pingji.web.runs import exports
        from pingji.web.runs.filters import Filters
        from pingji.web.runs.models import Run
        from pingji.web.runs.tasks import export_xlsx_task

        run = Run.objects.get(pk=int(args[0]))
        job = exports.start_job(run, Filters(), user, 8)
        exports.queued(job, str(export_xlsx_task.enqueue(run.pk, job.id).id))
        return job.id
    if command == "recover":
        from pingji.web.serve import recover_at_start

        return recover_at_start()
    raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    if sys.argv[1] == "worker":
        worker(sys.argv[2])
    else:
        print(json.dumps(driver(sys.argv[2], *sys.argv[3:])))
