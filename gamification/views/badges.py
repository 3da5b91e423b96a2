"""API views for badges."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
