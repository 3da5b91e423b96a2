"""The Zeeguu-compatible API (SPEC §12, docs/zeeguu.md): the paths, parameters, shapes, status
codes and ``{"message": ...}`` errors of the upstream Zeeguu platform's gamification calls, so
that its web frontend works against this service through one reverse-proxy rule.

A thin layer, a peer of ``gamification.views``: ``urls`` and ``views`` (each call validates
its input, calls the same services and selectors as ``/api/`` and maps the answer),
``serializers`` (the upstream shapes), ``authentication`` (``?session=`` / the cookie, with
``introspection`` for sessions of the platform), ``errors`` and ``middleware`` (repeated
slashes). No rule lives here: who may see whom, what a request or a badge is, how boards rank,
all come from the services and selectors.
"""
