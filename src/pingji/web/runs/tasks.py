"""Background tasks (django-tasks): executed by `pingji serve`'s worker. They call
execution.py and exports.py; services.py and the views queue them."""

from django_tasks import task


@task()
def execute_run_task(run_id: int) -> None:
    """Execute an evaluation run (see execution.execute_run)."""
    from pingji.web.runs.execution import execute_run

    execute_run(run_id)


@task()
def export_xlsx_task(run_id: int, job_id: str) -> None:
    """Write a large Excel export of a run's results (see exports.run_job)."""
    from pingji.web.runs.exports import run_job

    run_job(run_id, job_id)
