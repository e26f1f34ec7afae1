"""Request body parsing for the API, bounded."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# The API's inputs are flat objects; nothing legitimate nests deeper than this.
# Python's parser would otherwise go until it runs out of stack (RecursionError, a 500).
MAX_JSON_DEPTH = 32


def json_depth_exceeds(data, limit: int) -> bool:
    """True when objects and arrays nest more than `limit` levels (the document itself is level 1)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class BoundedJSONParser(JSONParser):
    """JSON with a nesting limit: a deeper document is a 400.

    The body's size is checked before any parsing, from Content-Length
    (qualify_site.api.middleware).
    """

    def parse(self, stream, media_type=None, parser_context=None):
        too_deep = ParseError(f"JSON parse error - the body nests deeper than {MAX_JSON_DEPTH} levels.")
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise too_deep from None
        if json_depth_exceeds(data, MAX_JSON_DEPTH):
            raise too_deep
        return data
