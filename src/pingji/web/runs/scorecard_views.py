"""Scorecard pages (placeholder until written)."""

from django.http import HttpResponse


def scorecard(request, run_id: int, entity_id: str):
    return HttpResponse("scorecard")


def why(request, run_id: int, entity_id: str, metric: str):
    return HttpResponse("why")
