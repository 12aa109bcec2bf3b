"""Evaluation runs: a scheme version applied to the data batches for one period."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pingji.web.jobs.models import LeasedJob
from pingji.web.runs.files import exports_dir
from pingji.web.runs.filters import Filters


class RunQuerySet(models.QuerySet):
    def counted(self) -> RunQuerySet:
        """Runs that count: not voided (a voided run is never "the latest")."""
        return self.filter(voided_at__isnull=True)


class Run(LeasedJob):
    """One evaluation. Immutable once done: it records exactly what it read. Executed by the
    worker under a lease (heartbeat_at): a run whose worker died is marked failed.

    A done run may be voided (作废, with a reason, audited): it stays readable but no longer
    counts as the latest run anywhere. Voiding only sets the void_* fields (through an
    update, never save()); it can be undone (restored), also audited."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("运行中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    scheme_version = models.ForeignKey(
        "schemes.SchemeVersion", on_delete=models.PROTECT, related_name="runs"
    )
    period = models.CharField(_("期间"), max_length=20)
    params = models.JSONField(_("参数"), default=dict, blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    progress = models.PositiveSmallIntegerField(_("进度"), default=0)  # 0–100
    stage = models.CharField(_("阶段"), max_length=100, blank=True)
    error = models.TextField(_("错误"), blank=True)
    batches = models.ManyToManyField("imports.ImportBatch", related_name="runs", blank=True)
    ratings_used = models.PositiveIntegerField(_("采用的人工评分"), default=0)
    entities = models.PositiveBigIntegerField(_("评价对象数"), null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True)  # distributions, counts, warnings
    results_path = models.CharField(max_length=500, blank=True)  # relative to PINGJI_HOME
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    voided_at = models.DateTimeField(_("作废时间"), null=True, blank=True, db_index=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("作废人"),
    )
    void_reason = models.TextField(_("作废原因"), blank=True)

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("评价运行")
        verbose_name_plural = _("评价运行")
        permissions = [("void_run", _("作废或恢复评价运行"))]

    def __str__(self) -> str:
        return f"#{self.pk} {self.scheme_version} {self.period}"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def is_voided(self) -> bool:
        """Tell whether the run was voided (it no longer counts as the latest)."""
        return self.voided_at is not None

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            stored = Run.objects.filter(pk=self.pk).values_list("status", flat=True).first()
            if stored in (self.Status.DONE, self.Status.FAILED):
                raise ValidationError(_("已结束的运行不可修改。"))
        super().save(*args, **kwargs)


class ExportJob(LeasedJob):
    """One background Excel export of a run (more than exports.BACKGROUND_ROWS rows): its
    filters, where it stands, and its file, kept in runs/<run>/exports/ (see exports.py)."""

    class State(models.TextChoices):
        QUEUED = "queued", _("排队中")
        WRITING = "writing", _("写入中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    id = models.CharField(primary_key=True, max_length=32, editable=False)  # uuid4 hex
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="export_jobs")
    file_name = models.CharField(max_length=255)  # of the .xlsx in the run's exports folder
    filters = models.JSONField(default=dict)  # filters.Filters' fields
    rows = models.PositiveBigIntegerField(default=0)  # counted when it was asked for
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # 0–100
    stage = models.CharField(max_length=100, blank=True)  # a msgid (Chinese), shown translated
    error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("Excel 导出")
        verbose_name_plural = _("Excel 导出")

    @property
    def shown_error(self) -> str:
        """The error, worded in the active language (a refusal is stored in every language)."""
        from pingji.web.lib.language import viewer_text

        return viewer_text(self.error)

    def __str__(self) -> str:
        return f"{self.file_name} ({self.state})"

    @property
    def path(self):
        return exports_dir(self.run_id) / self.file_name

    @property
    def created(self):
        return self.created_at

    @property
    def finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)

    @property
    def ready(self) -> bool:
        """Written: the file can be downloaded."""
        return self.state == self.State.DONE and self.path.is_file()

    def filters_obj(self):
        return Filters(**self.filters)

    def describe(self) -> str:
        return self.filters_obj().describe()
