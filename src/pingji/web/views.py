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
        "runs": Run.objects.select_related("scheme_version__scheme")[:8]
        if user.has_perm("runs.view_run")
        else None,
        "schemes": Scheme.objects.count() if user.has_perm("schemes.view_scheme") else None,
        "batches": ImportBatch.objects.filter(status="active").count()
        if user.has_perm("imports.view_importbatch")
        else None,
        "my_drafts": Rating.objects.filter(rater=user, status="draft").count(),
        "to_approve": Rating.objects.filter(status="submitted").count()
        if user.has_perm("ratings.approve_rating")
        else None,
    }
    return render(request, "home.html", context)
