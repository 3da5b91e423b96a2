import re

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import TemplateView
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView

from gamification.views import health
from gamification.views.docs import ApiDocsView
from gamification.views.errors import api_not_found

urlpatterns = [
    # A front page for people who open the site: where the staff console, the API docs and the
    # probes are (the admin's "View site" lands here).
    path("", TemplateView.as_view(template_name="zeeguu_site/landing.html"), name="landing"),
    # Probes (SPEC §14): liveness without I/O, readiness of the database, cache and broker.
    path("healthz", csrf_exempt(health.liveness), name="healthz"),
    path("readyz", csrf_exempt(health.readiness), name="readyz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("gamification.urls")),
    # Any other /api/ URL (an id the path converter refuses, an unknown endpoint) is the JSON 404
    # in debug mode too, where Django would otherwise answer with its HTML debug page.
    re_path(r"^api/", csrf_exempt(api_not_found)),
    # The Zeeguu web frontend's calls, as upstream answers them (SPEC §12, docs/zeeguu.md); any
    # other path under the prefix is the JSON 404 too.
    path(f"{settings.ZEEGUU_COMPAT_PREFIX}/", include("gamification.zeeguu.urls")),
    re_path(rf"^{re.escape(settings.ZEEGUU_COMPAT_PREFIX)}/", csrf_exempt(api_not_found)),
    # Uploaded badge icons. Small, staff-uploaded, validated images; a production deployment may
    # serve MEDIA_ROOT from its proxy instead.
    path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", serve, {"document_root": settings.MEDIA_ROOT}),
]

# JSON instead of HTML pages for unknown URLs and server errors.
handler404 = "gamification.views.errors.api_not_found"
handler500 = "gamification.views.errors.api_server_error"
