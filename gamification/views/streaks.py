"""API views for streaks."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
