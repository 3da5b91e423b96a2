"""Settings of the server ``bench/http_overhead.py`` starts: the site's settings, with the URLs of
``bench/urls_overhead.py`` (the site's plus the hello-world baselines). Never used in production."""

from zeeguu_site.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls_overhead"
