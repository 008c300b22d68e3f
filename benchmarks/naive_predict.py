"""The baseline the API benchmark measures against: `model.predict` per request, nothing stored.

A URL conf of its own (the product's URLs plus the baseline), used only by
`manage.py bench_api`; it never ships in the product's URLs.
"""

from __future__ import annotations

import functools

import numpy as np
from django.conf import settings
from django.urls import include, path
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from recognizer import conf
from training.preprocessing import preprocess_bytes

BASELINE_URL = "/bench/naive-predict/"


@functools.cache
def _naive_model():
    from training.runtime import import_keras

    return import_keras().models.load_model(conf.initial_model_path(), compile=False)


class NaivePredictApi(APIView):
    """The usual view: decode and preprocess the upload, then `model.predict` on it, per request.

    Same authentication, parsing and preprocessing as the product; it stores
    nothing, so every millisecond it spends more is the model call.
    """

    parser_classes = [MultiPartParser]

    def post(self, request):
        pixels = preprocess_bytes(request.FILES["image"].read(), max_pixels=conf.max_pixels())
        batch = pixels.reshape(1, 28, 28, 1).astype(np.float32)
        probabilities = _naive_model().predict(batch, verbose=0)[0]
        body = {
            "digit": int(probabilities.argmax()),
            "confidence": float(probabilities.max()),
            "probabilities": [float(p) for p in probabilities],
        }
        return Response(body, status=201)


urlpatterns = [
    path(BASELINE_URL.strip("/") + "/", NaivePredictApi.as_view()),
    path("", include(settings.ROOT_URLCONF)),
]
