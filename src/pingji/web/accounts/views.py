"""Views (placeholder until this app's pages are written)."""

from django.http import HttpResponse


def users(request):
    return HttpResponse("accounts")


def tokens(request):
    return HttpResponse("tokens")
