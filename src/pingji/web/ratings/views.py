"""Views (placeholder until this app's pages are written)."""

from django.http import HttpResponse


def worklist(request):
    return HttpResponse("ratings")


def review(request):
    return HttpResponse("review")
