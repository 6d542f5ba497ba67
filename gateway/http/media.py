"""Media types of the GraphQL-over-HTTP spec and Accept-header negotiation."""

from __future__ import annotations

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
HTML = "text/html"


def _media_ranges(accept: str) -> list[tuple[str, float]]:
    ranges: list[tuple[str, float]] = []
    for part in accept.split(","):
        fields = part.strip().split(";")
        media = fields[0].strip().lower()
        if not media:
            continue
        quality = 1.0
        for param in fields[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        ranges.append((media, quality))
    return ranges


def negotiate_response_type(accept: str | None) -> str | None:
    """The response media type for an Accept header, or None when nothing we produce is acceptable.

    No Accept header means application/json (the spec's default for legacy clients); wildcards also
    give application/json; application/graphql-response+json wins ties since it carries more meaning.
    """
    if not accept:
        return JSON
    best: str | None = None
    best_quality = 0.0
    for media, quality in _media_ranges(accept):
        if quality <= 0:
            continue
        if media == GRAPHQL_RESPONSE_JSON:
            candidate = GRAPHQL_RESPONSE_JSON
        elif media in (JSON, "application/*", "*/*"):
            candidate = JSON
        else:
            continue
        better = quality > best_quality or (
            quality == best_quality and candidate == GRAPHQL_RESPONSE_JSON and best != GRAPHQL_RESPONSE_JSON)
        if better:
            best, best_quality = candidate, quality
    return best


def prefers_html(accept: str | None) -> bool:
    """True for a browser navigation: text/html is named and ranked above any JSON type."""
    if not accept:
        return False
    html_quality = -1.0
    json_quality = -1.0
    for media, quality in _media_ranges(accept):
        if media == HTML:
            html_quality = max(html_quality, quality)
        elif media in (JSON, GRAPHQL_RESPONSE_JSON):
            json_quality = max(json_quality, quality)
    return html_quality > 0 and html_quality >= json_quality
