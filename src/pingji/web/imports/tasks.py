"""Background tasks (django-tasks) of the import pages, executed by `pingji serve`'s worker:
inspect an uploaded file, commit it as a batch. The work itself is in uploads.py; the pages
follow it through upload.json (views.upload_status)."""

from django_tasks import task


@task()
def inspect_upload_task(upload_id: str) -> None:
    """Inspect a stored upload (see uploads.inspect_upload)."""
    from pingji.web.imports.uploads import inspect_upload

    inspect_upload(upload_id)


@task()
def commit_upload_task(upload_id: str, user_id: int | None) -> None:
    """Commit an upload as one batch, all rows or none (see uploads.commit_upload)."""
    from pingji.web.imports.uploads import commit_upload

    commit_upload(upload_id, user_id)
