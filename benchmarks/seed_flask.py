"""The seed-style server the HTTP benchmark compares against: Flask, Keras, `model.predict` per request.

What a first version of a digit service usually is: decode the upload, make
the 28x28 input (the product's own preprocessing, so only serving differs),
call the float Keras model's `predict`, answer JSON; nothing stored, no
authentication. Started by `benchmarks/serving_http.py`; not part of the product.

    python -m benchmarks.seed_flask PORT
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from flask import Flask, jsonify, request

from training.preprocessing import preprocess_bytes
from training.runtime import import_keras

MODEL_PATH = Path(__file__).resolve().parents[1] / "training" / "artifacts" / "digit_cnn_v1.keras"

app = Flask(__name__)
model = import_keras().models.load_model(MODEL_PATH, compile=False)


@app.post("/predict")
def predict():
    pixels = preprocess_bytes(request.files["image"].read())
    probabilities = model.predict(pixels.reshape(1, 28, 28, 1).astype(np.float32), verbose=0)[0]
    return jsonify(
        digit=int(probabilities.argmax()),
        confidence=float(probabilities.max()),
        probabilities=[float(p) for p in probabilities],
    )


@app.get("/ready")
def ready():
    return "ok"


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), threaded=False)
