"""The interactive API docs (Swagger UI from drf-spectacular's sidecar: no CDN).

The split view serves its start-up script as a file of its own (``?script``) instead of an inline
``<script>``, so the page satisfies a Content-Security-Policy without ``'unsafe-inline'`` scripts.
"""

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView


class ApiDocsView(SpectacularSwaggerSplitView):
    """Anyone may read the docs. Only GET and HEAD have a body; OPTIONS lists them."""

    http_method_names = ["get", "head", "options"]

    @extend_schema(exclude=True)
    def options(self, request, *args, **kwargs) -> HttpResponse:
        # DRF would describe the view through its HTML template renderer, which has no template
        # for that: answer the allowed methods alone.
        return HttpResponse(status=200, headers={"Allow": "GET, HEAD, OPTIONS"})
