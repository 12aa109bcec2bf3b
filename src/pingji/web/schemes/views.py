"""Views (placeholder until this app's pages are written)."""

from django.http import HttpResponse


def list(request):
    return HttpResponse("schemes")
