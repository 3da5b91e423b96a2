"""API views for leaderboards."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
