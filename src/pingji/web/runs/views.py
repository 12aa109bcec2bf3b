"""Views (placeholder until this app's pages are written)."""

from django.http import HttpResponse


def list(request):
    return HttpResponse("runs")


def detail(request, run_id):
    return HttpResponse("run")
