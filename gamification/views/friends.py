"""API views for friends."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
