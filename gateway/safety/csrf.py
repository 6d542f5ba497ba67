"""CSRF prevention as Apollo Router does it: only requests a browser would have preflighted are served.

A cross-site page can make a browser send a "simple" request (GET, or POST with a CORS-safelisted
content type) with the user's cookies and without asking the server first. Such a request is refused
unless it carries a ``Content-Type`` that is not one of the three simple ones, or one of the
configured custom headers; both force a CORS preflight, which a foreign origin does not pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from gateway.http.errors import HTTPRequestError

CSRF_ERROR = "CSRF_ERROR"
DEFAULT_PREFLIGHT_HEADERS = ("x-apollo-operation-name", "apollo-require-preflight")
_SIMPLE_CONTENT_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"})


class CsrfPrevention:
    def __init__(self, required_headers: Iterable[str] = DEFAULT_PREFLIGHT_HEADERS) -> None:
        self.required_headers = tuple(name.lower() for name in required_headers)
        self.message = ("This request has been blocked as a potential Cross-Site Request Forgery (CSRF). "
                        "Send a Content-Type other than application/x-www-form-urlencoded, "
                        "multipart/form-data or text/plain (e.g. application/json), or one of these "
                        f"headers: {', '.join(self.required_headers)}.")

    def preflighted(self, headers: Mapping[str, str]) -> bool:
        content_type = headers.get("content-type")
        if content_type is not None:
            media = content_type.split(";", 1)[0].strip().lower()
            if media and media not in _SIMPLE_CONTENT_TYPES:
                return True
        return any(headers.get(name) for name in self.required_headers)

    def check(self, headers: Mapping[str, str]) -> None:
        if not self.preflighted(headers):
            raise HTTPRequestError(400, self.message, CSRF_ERROR)
