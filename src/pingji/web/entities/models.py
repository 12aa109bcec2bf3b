"""Saved views: a named set of list filters (a query string) a user keeps for a page."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SavedView(models.Model):
    """A named filter set of one list: the entity list of a table, or the results of a
    scheme's runs. Kept per user; a shared one is listed for every user who sees the list.

    `query` holds only the filter parameters the page itself accepts (checked when saved);
    opening a view is following a link with them, so a view grants no access of its own."""

    class Page(models.TextChoices):
        ENTITIES = "entities", _("评价对象列表")
        RESULTS = "results", _("评价结果")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    page = models.CharField(_("页面"), max_length=20, choices=Page.choices)
    # the entity table (entities) or the scheme's code (results) the filters belong to
    scope = models.CharField(_("范围"), max_length=100)
    name = models.CharField(_("名称"), max_length=60)
    query = models.JSONField(_("筛选条件"), default=dict)
    shared = models.BooleanField(_("共享给所有人"), default=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("保存的视图")
        verbose_name_plural = _("保存的视图")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "page", "scope", "name"], name="saved_view_unique_name"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.page}:{self.scope})"
