"""Background jobs that survive a crash: every job model (a run, an upload's inspection or
commit, an Excel export) holds a lease — the worker that runs it refreshes `heartbeat_at`
while it works; a job whose heartbeat is older than the lease is dead (see lease.py). The
worker processes themselves beat too (`Worker`), so pages can say when none is alive."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class LeasedJob(models.Model):
    """Fields every background job model has: who runs it and its last sign of life."""

    heartbeat_at = models.DateTimeField(_("最近心跳"), null=True, blank=True)
    worker_id = models.CharField(max_length=64, blank=True)  # the Worker running it
    task_id = models.CharField(max_length=64, blank=True)  # its django-tasks row

    class Meta:
        abstract = True


class Worker(models.Model):
    """One background worker process (`pingji manage worker`), beating while it lives."""

    worker_id = models.CharField(max_length=64, unique=True)
    pid = models.PositiveIntegerField()
    host = models.CharField(max_length=255)
    started_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-heartbeat_at"]
        verbose_name = _("后台任务进程")
        verbose_name_plural = _("后台任务进程")

    def __str__(self) -> str:
        return f"{self.worker_id} (pid {self.pid} on {self.host})"
