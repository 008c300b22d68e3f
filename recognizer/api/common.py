"""What every API view shares: JSON only, a body limit, paging, ids in paths."""

from __future__ import annotations

import re

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from recognizer.api.errors import RequestTooLarge

# Bodies of endpoints that take no image: a label, a username and password.
SMALL_BODY_BYTES = 64 * 1024
# A Content-Type of plain tokens and simple parameters, which DRF's parsing would read the same way.
_TOKEN = r"[A-Za-z0-9!#$&^_.+-]+"
PLAIN_TYPE = re.compile(f"{_TOKEN}/{_TOKEN}")
PLAIN_CONTENT_TYPE = re.compile(rf"\s*{_TOKEN}/{_TOKEN}\s*(;\s*{_TOKEN}=({_TOKEN}|\"[^\"\\]*\")\s*)*")


def size_text(size: int) -> str:
    """Say a byte count the way people read it: 5 MB, 64 KB."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.3g} MB"
    return f"{size / 1024:.3g} KB"


class JsonOnly(DefaultContentNegotiation):
    """Answer JSON whatever `Accept` says: the API has one representation, and errors must stay readable."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type

    def select_parser(self, request, parsers):
        """DRF's choice, without parsing the request's Content-Type once per parser when it is plain.

        DRF matches each parser's type against the request's through the email
        package's header parser, three times per upload; for a plain header
        and parsers without parameters or wildcards, that is comparing types.
        """
        content_type = request.content_type or ""
        plain_parsers = all(PLAIN_TYPE.fullmatch(parser.media_type) for parser in parsers)
        if not plain_parsers or not PLAIN_CONTENT_TYPE.fullmatch(content_type):
            return super().select_parser(request, parsers)
        media_type = content_type.partition(";")[0].strip().lower()
        return next((parser for parser in parsers if parser.media_type == media_type), None)


class BaseApi(APIView):
    """An API view that refuses an oversized body before anything reads it.

    Authentication may read a form body (the CSRF check), so the limit is
    checked first, from Content-Length alone.
    """

    renderer_classes = [JSONRenderer]
    content_negotiation_class = JsonOnly

    def body_limit(self, request) -> tuple[int, RequestTooLarge]:
        """Return the largest body this request may have and the error to raise above it."""
        return SMALL_BODY_BYTES, RequestTooLarge(f"The request is larger than {size_text(SMALL_BODY_BYTES)}.")

    def initial(self, request, *args, **kwargs):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length:
            limit, error = self.body_limit(request)
            if length > limit:
                raise error
        super().initial(request, *args, **kwargs)


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


class IdConverter:
    """A database id in a path: 1 to 18 digits, so it always fits a 64-bit column."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


def paginated_response(view: APIView, items, serializer_class):
    """Answer one page of `items`, serialized, with the count and the links to its neighbours."""
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(items, view.request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True, context={"request": view.request}).data)
