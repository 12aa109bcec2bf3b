"""Background tasks (django-tasks): executed by `pingji serve`'s worker."""

from django_tasks import task


@task()
def execute_run_task(run_id: int) -> None:
    """Execute an evaluation run (see services.execute_run)."""
    from pingji.web.runs.services import execute_run

    execute_run(run_id)
