"""The short multipart path gives what Django's parser gives, and leaves every unusual body to it."""

import contextlib
import io

import pytest
from django.test import RequestFactory
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request

from recognizer.api import parsers
from recognizer.api.common import JsonOnly
from recognizer.api.parsers import OneImageMultiPartParser
from tests.images import digit_png

BOUNDARY = "testboundary"
PNG = digit_png(3)


def _body(*parts: bytes, boundary: str = BOUNDARY, ending: bytes = b"\r\n") -> bytes:
    delimiter = f"--{boundary}".encode()
    return b"".join(delimiter + b"\r\n" + part + b"\r\n" for part in parts) + delimiter + b"--" + ending


def _file(name: str = "image", filename: str = "d.png", content_type: str = "image/png", data: bytes = PNG) -> bytes:
    head = f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\nContent-Type: {content_type}'
    return head.encode() + b"\r\n\r\n" + data


def _field(name: str, value: str) -> bytes:
    return f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}'.encode()


def _parse(parser_class, body: bytes, content_type: str):
    django_request = RequestFactory().generic("POST", "/", body, content_type=content_type)
    request = Request(django_request, parsers=[parser_class()])
    parsed = parser_class().parse(io.BytesIO(body), content_type, {"request": request, "encoding": "utf-8"})
    files = {name: [_described(upload) for upload in items] for name, items in parsed.files.lists()}
    return dict(parsed.data.lists()), files, parsed.data._mutable


def _described(upload) -> tuple:
    fields = ("name", "field_name", "content_type", "charset", "content_type_extra", "size")
    return (*(getattr(upload, field, None) for field in fields), upload.read())


def _short_path_taken(monkeypatch, body: bytes, content_type: str) -> bool:
    taken = []
    original = parsers._form_split

    def spy(*args):
        result = original(*args)
        taken.append(result is not None)
        return result

    monkeypatch.setattr(parsers, "_form_split", spy)
    with contextlib.suppress(ParseError):  # Django's error, after the short path gave up
        _parse(OneImageMultiPartParser, body, content_type)
    return taken == [True]


CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
PLAIN = {
    "one image": _body(_file()),
    "image, source and kind": _body(_file(), _field("source", "canvas"), _field("kind", "number")),
    "fields first": _body(_field("kind", "digit"), _file(filename="photo.JPG", content_type="image/jpeg")),
    "no closing line break": _body(_file(), ending=b""),
    "a path as file name": _body(_file(filename="../../etc/passwd")),
    "type with charset and extras": _body(_file(content_type="text/plain; charset=latin-1; x=1")),
    "file without a type": _body(
        b'Content-Disposition: form-data; name="image"; filename="d.png"\r\n\r\n' + PNG,
    ),
    "empty file": _body(_file(data=b"")),
    "non-ASCII text": _body(_file(), _field("source", "caf\u00e9")),
    "two file fields": _body(_file(), _file(name="other", filename="e.gif", content_type="image/gif")),
}
UNUSUAL = {
    "preamble": b"hello\r\n" + _body(_file()),
    "epilogue": _body(_file(), ending=b"\r\ntrailing words"),
    "repeated field": _body(_file(), _field("source", "api"), _field("source", "canvas")),
    "the same file field twice": _body(_file(), _file()),
    "empty file name": _body(_file(filename="")),
    "transfer encoding": _body(
        b'Content-Disposition: form-data; name="source"\r\nContent-Transfer-Encoding: base64\r\n\r\nYXBp'
    ),
    "no headers": _body(b"\r\n\r\nlost"),
    "nameless part": _body(b'Content-Disposition: form-data; filename="d.png"\r\n\r\n' + PNG),
    "unterminated": _body(_file())[:-20],
    "boundary inside a part": _body(_file(data=PNG + b"\r\n--" + BOUNDARY.encode() + b"x")),
    "long headers": _body(_file(filename="d" * 1000 + ".png")),
    "many parts": _body(*[_field(f"f{index}", "x") for index in range(12)]),
}


@pytest.mark.parametrize("body", PLAIN.values(), ids=PLAIN.keys())
def test_a_plain_body_takes_the_short_path_and_parses_as_django_does(monkeypatch, body):
    assert _short_path_taken(monkeypatch, body, CONTENT_TYPE)
    assert _parse(OneImageMultiPartParser, body, CONTENT_TYPE) == _parse(MultiPartParser, body, CONTENT_TYPE)


@pytest.mark.parametrize("body", UNUSUAL.values(), ids=UNUSUAL.keys())
def test_an_unusual_body_is_left_to_django_with_the_same_result_or_error(monkeypatch, body):
    assert not _short_path_taken(monkeypatch, body, CONTENT_TYPE)
    try:
        expected = _parse(MultiPartParser, body, CONTENT_TYPE)
    except ParseError as error:
        with pytest.raises(ParseError) as raised:
            _parse(OneImageMultiPartParser, body, CONTENT_TYPE)
        assert str(raised.value) == str(error)
    else:
        assert _parse(OneImageMultiPartParser, body, CONTENT_TYPE) == expected


def test_a_body_too_big_for_memory_is_left_to_django(monkeypatch, settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 100
    body = _body(_file())

    assert not _short_path_taken(monkeypatch, body, CONTENT_TYPE)
    assert _parse(OneImageMultiPartParser, body, CONTENT_TYPE) == _parse(MultiPartParser, body, CONTENT_TYPE)


def test_a_bad_boundary_is_refused_as_django_refuses_it():
    body = _body(_file(), boundary="bad boundary ")
    content_type = 'multipart/form-data; boundary="bad boundary "'

    with pytest.raises(ParseError) as expected:
        _parse(MultiPartParser, body, content_type)
    with pytest.raises(ParseError) as raised:
        _parse(OneImageMultiPartParser, body, content_type)
    assert str(raised.value) == str(expected.value)


CONTENT_TYPES = [
    "multipart/form-data; boundary=abc",
    'Multipart/Form-Data ;  boundary="a b"',
    "application/json",
    "application/json; charset=utf-8",
    "application/x-www-form-urlencoded",
    "text/plain",
    "multipart/*; boundary=x",
    "*/*",
    'multipart/form-data; boundary="a\\"b"',
    '"multipart/form-data"',
    "",
    "multipart",
    "image/png; name=(comment)",
]


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_the_api_picks_the_parser_drf_would_pick(content_type):
    request = Request(RequestFactory().generic("POST", "/", b"x", content_type=content_type))
    parser_classes = [JSONParser, FormParser, OneImageMultiPartParser]
    chosen = JsonOnly().select_parser(request, [parser() for parser in parser_classes])
    expected = DefaultContentNegotiation().select_parser(request, [parser() for parser in parser_classes])

    assert type(chosen) is type(expected)
