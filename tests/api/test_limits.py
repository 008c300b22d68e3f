"""Errors and limits: every refusal is a JSON 4xx with a stable code, never a 500."""

import base64
import io
import os

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import FakePayload
from PIL import Image

from recognizer.models import Submission
from tests.api.helpers import SUBMISSIONS, assert_error
from tests.images import blank_png, digit_png, encode

pytestmark = pytest.mark.django_db

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"
TEXT = b"seven\n"


def _upload(data: bytes, name: str = "digit.png", content_type: str = "image/png") -> dict:
    return {"image": SimpleUploadedFile(name, data, content_type=content_type)}


def _data_url(data: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


def _noise_png(size: int) -> bytes:
    """A PNG that does not compress: about `size` squared bytes."""
    return encode(Image.frombytes("L", (size, size), np.random.default_rng(0).bytes(size * size)))


@pytest.fixture
def small_uploads(settings):
    settings.RECOGNIZER = {**settings.RECOGNIZER, "MAX_UPLOAD_BYTES": 20_000}


@pytest.mark.parametrize("size", [200, 400], ids=["image-over-the-limit", "body-over-the-limit-too"])
def test_an_image_over_the_upload_limit_is_413(api, small_uploads, size):
    big = _noise_png(size)

    for response in (
        api.post(SUBMISSIONS, _upload(big), format="multipart"),
        api.post(SUBMISSIONS, {"image": _data_url(big)}, format="json"),
    ):
        body = assert_error(response, 413, "image_too_large")
        assert "larger than" in body["detail"]
    assert not Submission.objects.exists()


def test_the_default_limit_is_5_mb_and_says_so(api):
    huge = b"\x89PNG\r\n\x1a\n" + bytes(5 * 1024 * 1024 + 1)
    body = assert_error(api.post(SUBMISSIONS, _upload(huge), format="multipart"), 413, "image_too_large")
    assert body["detail"] == "Image is larger than 5 MB."


def test_an_oversized_body_is_refused_before_it_is_read(api):
    # The body is shorter than announced: reading it at all would raise.
    announced = 50 * 1024 * 1024
    response = api.generic(
        "POST",
        SUBMISSIONS,
        content_type="application/json",
        CONTENT_LENGTH=str(announced),
        **{"wsgi.input": FakePayload(b"{}")},
    )
    assert_error(response, 413, "image_too_large")


def test_every_other_endpoint_refuses_big_bodies_too(api):
    response = api.generic(
        "POST", "/api/v1/auth/token/", content_type="application/json", CONTENT_LENGTH=str(10 * 1024 * 1024)
    )
    assert_error(response, 413, "request_too_large")


def test_too_many_pixels_is_413_before_decoding(api, settings):
    settings.RECOGNIZER = {**settings.RECOGNIZER, "MAX_PIXELS": 100 * 100}
    body = assert_error(api.post(SUBMISSIONS, _upload(digit_png(0)), format="multipart"), 413, "image_too_large")
    assert "280x280" in body["detail"]


def test_a_decompression_bomb_is_refused(api):
    # 20000 x 20000 pixels of one colour compress to a few hundred kilobytes.
    bomb = encode(Image.new("1", (20_000, 20_000), 1), optimize=True)
    assert len(bomb) < 5 * 1024 * 1024
    assert_error(api.post(SUBMISSIONS, _upload(bomb), format="multipart"), 413, "image_too_large")


@pytest.mark.parametrize(("data", "name"), [(SVG, "x.svg"), (PDF, "x.pdf"), (HTML, "x.html"), (TEXT, "x.txt")])
def test_formats_outside_the_list_are_415(api, data, name):
    assert_error(api.post(SUBMISSIONS, _upload(data, name, "image/png"), format="multipart"), 415, "unsupported_format")
    assert_error(
        api.post(SUBMISSIONS, {"image": _data_url(data, "image/svg+xml")}, format="json"), 415, "unsupported_format"
    )


def test_an_unsupported_request_content_type_is_415(api):
    response = api.generic("POST", SUBMISSIONS, digit_png(0), content_type="image/png")
    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    "data",
    [digit_png(0)[:300], digit_png(0)[: len(digit_png(0)) // 2], b"", encode(Image.new("RGB", (30, 30)), "JPEG")[:200]],
    ids=["truncated-png", "half-a-png", "zero-bytes", "truncated-jpeg"],
)
def test_unreadable_or_truncated_files_are_400_invalid_image(api, data):
    assert_error(api.post(SUBMISSIONS, _upload(data), format="multipart"), 400, "invalid_image")


@pytest.mark.parametrize("image", [blank_png(), blank_png(color=0), blank_png(color=128)])
def test_an_image_with_no_ink_is_400_empty_image(api, image):
    assert_error(api.post(SUBMISSIONS, _upload(image), format="multipart"), 400, "empty_image")
    assert_error(api.post(SUBMISSIONS, {"image": _data_url(image)}, format="json"), 400, "empty_image")


@pytest.mark.parametrize(
    ("image", "code"),
    [
        ("data:image/png;base64,@@@not base64@@@", "invalid_base64"),
        ("data:image/png;base64,iVBORw0KGgoAAAAN=garbage", "invalid_base64"),
        ("not base64 at all!", "invalid_base64"),
        ("data:image/png,rawbytes", "invalid_data_url"),
        ("data:;;;base64,AAAA", "invalid_data_url"),
        ("data:image/png;base64", "invalid_data_url"),
        ("", "blank"),
    ],
)
def test_invalid_base64_or_data_url_is_400(api, image, code):
    body = assert_error(api.post(SUBMISSIONS, {"image": image}, format="json"), 400, code)
    assert body["detail"].startswith("image: ")


@pytest.mark.parametrize("image", [None, ["a"], {"b": 1}])
def test_an_image_that_is_not_text_is_400(api, image):
    response = api.post(SUBMISSIONS, {"image": image}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] in {"invalid", "null"}


def test_malformed_json_is_400(api):
    response = api.generic("POST", SUBMISSIONS, b'{"image": "data:', content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_a_multipart_body_that_lies_is_400(api):
    response = api.generic("POST", SUBMISSIONS, b"--x\r\nnonsense", content_type="multipart/form-data; boundary=x")
    assert response.status_code == 400
    assert response.json()["code"] in {"parse_error", "required"}


def test_an_unknown_method_is_405_json(api):
    assert_error(api.patch(f"{SUBMISSIONS}1/"), 405, "method_not_allowed")


def test_the_declared_type_of_a_data_url_is_not_trusted(api):
    bmp = encode(Image.open(io.BytesIO(digit_png(2))), "BMP")
    response = api.post(f"{SUBMISSIONS}?wait=0", {"image": _data_url(bmp, "text/html")}, format="json")
    assert response.status_code == 201, response.content
    assert Submission.objects.get().image_content_type == "image/bmp"


def _stored_files(root) -> int:
    return sum(len(files) for _, _, files in os.walk(root))


def test_a_colour_mode_the_preprocessing_cannot_convert_is_415_and_stores_nothing(api, settings):
    lab = io.BytesIO()
    Image.new("LAB", (64, 64), (50, 10, 10)).save(lab, format="TIFF")
    before = _stored_files(settings.MEDIA_ROOT)
    images = [_data_url(digit_png(0)), _data_url(lab.getvalue(), "image/tiff")]
    response = api.post(SUBMISSIONS + "batch/", {"images": images}, format="json")
    assert_error(response, 415, "unsupported_format")
    assert not Submission.objects.exists()
    assert _stored_files(settings.MEDIA_ROOT) == before


def test_a_deeply_nested_json_body_is_400_not_500(client):
    body = "[" * 5000 + "]" * 5000
    response = client.post("/api/v1/auth/token/", data=body, content_type="application/json")
    assert_error(response, 400, "parse_error")
