from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("gamification.urls")),
    # Uploaded badge icons. Small, staff-uploaded, validated images; a production deployment may
    # serve MEDIA_ROOT from its proxy instead.
    path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", serve, {"document_root": settings.MEDIA_ROOT}),
]

# JSON instead of HTML pages for unknown URLs and server errors.
handler404 = "gamification.views.errors.api_not_found"
handler500 = "gamification.views.errors.api_server_error"
