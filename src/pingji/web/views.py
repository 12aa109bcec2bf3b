"""Project-level pages: the home page (a dashboard that points each role to its work)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The dashboard: recent runs, schemes, batches and the rater's open work."""
    from pingji.web.imports.models import ImportBatch
    from pingji.web.ratings.models import Rating
    from pingji.web.runs.models import Run
    from pingji.web.schemes.models import Scheme

    user = request.user
    context = {
        # voided runs do not count as the latest results
        "runs": Run.objects.counted().select_related("scheme_version__scheme")[:8]
        if user.has_perm("runs.view_run")
        else None,
        "schemes": Scheme.objects.count() if user.has_perm("schemes.view_scheme") else None,
        "batches": ImportBatch.objects.filter(status="active").count()
        if user.has_perm("imports.view_importbatch")
        else None,
        "my_drafts": Rating.objects.filter(rater=user, status="draft").count(),
        "waiting": _waiting(user),
        "to_approve": Rating.objects.filter(status="submitted").count()
        if user.has_perm("ratings.approve_rating")
        else None,
    }
    return render(request, "home.html", context)


def _waiting(user) -> list:
    """What the user has to rate, per scheme and period, with the deadline (raters only)."""
    if not user.has_perm("ratings.add_rating"):
        return []
    from pingji.web.ratings.sheet import waiting_for

    return [w for w in waiting_for(user) if w.progress.pending]


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Answer 400: with the reason when a page refused a value (BadParameter), else plainly."""
    from pingji.web.lib.params import BadParameter

    message = str(exception) if isinstance(exception, BadParameter) else ""
    return render(request, "400.html", {"message": message}, status=400)
