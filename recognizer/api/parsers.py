"""Request parsers of the API: a short path for the multipart body one image makes."""

from __future__ import annotations

import io

from django.conf import global_settings, settings
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.http import QueryDict
from django.http.multipartparser import MAX_TOTAL_HEADER_SIZE
from django.http.multipartparser import MultiPartParser as DjangoMultiPartParser
from django.utils.datastructures import MultiValueDict
from django.utils.encoding import force_str
from django.utils.http import parse_header_parameters
from rest_framework import parsers
from rest_framework.parsers import DataAndFiles

# More parts than an upload of one image with its source and kind has: left to Django's parser.
MAX_PARTS = 8


class OneImageMultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser, reading a small, plain form body at once instead of in streamed chunks.

    An image upload is a few kilobytes in two or three parts. Django's parser
    streams any body through its upload handlers, which costs a tenth of a
    millisecond or more per call. Here a body that fits in memory under the
    default handlers is read in one piece and split on its boundary; the
    headers are parsed by Django's own function and the result is what
    Django's parser returns: the same fields, an `InMemoryUploadedFile` per
    file with the same name, type and charset. Anything out of the ordinary
    (a preamble, a transfer encoding, repeated or nameless parts, an empty
    file name, more parts) goes to Django's parser, with its checks and errors.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        request = parser_context["request"]
        length = _content_length(request.META)
        if not _short_path_allowed(length):
            return super().parse(stream, media_type, parser_context)
        body = stream.read()
        try:
            parsed = _form_split(body, media_type or "", parsers.get_encoding(parser_context))
        except ValueError:  # a header Django's parser would skip or refuse
            parsed = None
        if parsed is not None:
            return DataAndFiles(*parsed)
        return super().parse(io.BytesIO(body), media_type, parser_context)


def _content_length(meta: dict) -> int:
    try:
        return int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _short_path_allowed(length: int) -> bool:
    """A body Django's parser would keep in memory whole, under limits a short body cannot reach."""
    # Upload handlers of a deployment's own would see nothing of the short path.
    if list(settings.FILE_UPLOAD_HANDLERS) != list(global_settings.FILE_UPLOAD_HANDLERS):
        return False
    fields, files = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS, settings.DATA_UPLOAD_MAX_NUMBER_FILES
    if (fields is not None and fields < MAX_PARTS) or (files is not None and files < MAX_PARTS):
        return False
    memory = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return 0 < length <= settings.FILE_UPLOAD_MAX_MEMORY_SIZE and (memory is None or length <= memory)


def _form_split(body: bytes, content_type: str, encoding: str) -> tuple[QueryDict, MultiValueDict] | None:
    """The fields and files of a plain multipart body, as Django's parser makes them; None for anything else."""
    _main, options = parse_header_parameters(content_type)
    boundary = options.get("boundary", "")
    if not boundary or not DjangoMultiPartParser.boundary_re.fullmatch(boundary) or not boundary.isascii():
        return None
    delimiter = b"\r\n--" + boundary.encode("ascii")
    start, close = delimiter[2:] + b"\r\n", delimiter + b"--"
    end = body.find(close)
    if not body.startswith(start) or end < 0 or body[end + len(close) :] not in (b"", b"\r\n"):
        return None
    chunks = body[len(start) : end].split(delimiter + b"\r\n")
    if len(chunks) > MAX_PARTS:
        return None
    fields, files = QueryDict(mutable=True), MultiValueDict()
    for chunk in chunks:
        part = _part_read(chunk, delimiter, encoding)
        if part is None or part[0] in fields or part[0] in files:
            return None
        name, value = part
        (files if isinstance(value, InMemoryUploadedFile) else fields).appendlist(name, value)
    fields._mutable = False
    return fields, files


def _part_read(chunk: bytes, delimiter: bytes, encoding: str) -> tuple[str, str | InMemoryUploadedFile] | None:
    """One part's name and its text, or its file as Django's memory upload handler makes it; None if unusual."""
    head, separator, content = chunk.partition(b"\r\n\r\n")
    # Django's parser looks for the end of a part's headers in its first 1,024 bytes.
    if not separator or len(head) + len(separator) > MAX_TOTAL_HEADER_SIZE or delimiter in chunk:
        return None
    headers = {}
    for line in head.split(b"\r\n"):
        main, params = parse_header_parameters(line.decode("ascii", errors="strict") if line.isascii() else "")
        name, colon, value = main.partition(":")
        if not colon or name in headers or name not in ("content-disposition", "content-type"):
            return None
        headers[name] = value, params
    value, disposition = headers.get("content-disposition", ("", {}))
    field_name = disposition.get("name", "").strip()
    if value.strip() != "form-data" or not field_name:
        return None
    field_name = force_str(field_name.encode(), encoding, errors="replace")
    if "filename" not in disposition:
        return None if "content-type" in headers else (field_name, force_str(content, encoding, errors="replace"))
    file_name = force_str(disposition["filename"].encode(), encoding, errors="replace")
    file_name = DjangoMultiPartParser.sanitize_file_name(None, file_name)
    if not file_name:
        return None
    content_type, extra = headers.get("content-type", ("", {}))
    extra = {key: value.encode() for key, value in extra.items()}
    upload = InMemoryUploadedFile(
        io.BytesIO(content), field_name, file_name, content_type.strip(), len(content), extra.get("charset"), extra
    )
    return field_name, upload
