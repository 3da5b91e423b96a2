"""Repeated slashes in Zeeguu-compatible paths.

The Zeeguu web frontend requests some calls with a doubled slash (``//my_badges``,
``//badges/mark_all_seen``, ``//student_info``, ...); upstream's router (Werkzeug) merges
repeated slashes when matching, Django's does not. So that those calls reach their views, directly
(no redirect, which would turn a POST into a GET), the path of a request under the compatible
prefix is collapsed before anything reads it. Other paths are left exactly as they came.
"""

import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse

REPEATED_SLASHES = re.compile(r"/{2,}")


class CollapseSlashesMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "//" in request.path_info:
            collapsed = REPEATED_SLASHES.sub("/", request.path_info)
            if collapsed.startswith(f"/{settings.ZEEGUU_COMPAT_PREFIX}/"):
                request.path_info = collapsed
                request.path = REPEATED_SLASHES.sub("/", request.path)
        return self.get_response(request)
