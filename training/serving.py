"""Turn a trained Keras model into the copy the service runs, and run it.

The service answers with a LiteRT (TensorFlow Lite) copy of the model: batch
norm folded into the convolutions, weights stored as int8 and activations
kept in float ("dynamic range" quantization), executed by XNNPACK. Each
image's activations are quantized on their own, so an answer never depends
on the other images in its batch. Figures against the float model are in
docs/benchmarks.md.

Exporting needs TensorFlow; running needs only the small `ai-edge-litert`
package, so a process that finds an exported copy never imports TensorFlow.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
from dataclasses import dataclass, field

import numpy as np

from training.model import INPUT_SHAPE, NUM_CLASSES, fuse_for_inference
from training.runtime import import_tensorflow

# Bump when the export changes, so cached copies of the old kind are not reused.
SERVING_FORMAT = "litert-dq8-1"

# Batches run in chunks of these sizes: each size gets its own interpreter,
# planned once, instead of re-planning on every new batch size.
BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
# A chunk is padded up to the next size only while padding adds at most this share of work: 33 images run as
# 32 + 1, not as 64 (a number's candidate digits come in such odd counts).
PADDING = 0.25


def export_serving_model(model) -> bytes:
    """Return the LiteRT flatbuffer the service runs for a Keras `model`."""
    tf = import_tensorflow()
    tf.get_logger().setLevel("ERROR")  # the converter's "Assets written to ..." is not news
    converter = tf.lite.TFLiteConverter.from_keras_model(fuse_for_inference(model))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    # Keras prints the traced function's captured tensors; that belongs in no log.
    with contextlib.redirect_stdout(io.StringIO()):
        return converter.convert()


def chunk_sizes(count: int) -> list[int]:
    """Return the bucket sizes a batch of `count` images runs in, the last one padded; they hold all `count`."""
    sizes, left = [], count
    while left > 0:
        up = next((size for size in BUCKETS if size >= left), None)
        if up is not None and up - left <= PADDING * left:
            sizes.append(up)
            break
        down = max(size for size in BUCKETS if size <= left)
        sizes.append(down)
        left -= down
    return sizes


def default_threads() -> int:
    return max(1, min(2, os.cpu_count() or 1))


@dataclass
class _Slot:
    """One interpreter planned for one batch size; one caller at a time."""

    interpreter: object
    input_index: int
    output_index: int
    buffer: np.ndarray
    lock: threading.Lock = field(default_factory=threading.Lock)


class ServingModel:
    """Run an exported model on uint8 (N, 28, 28) images; safe under threads."""

    def __init__(self, content: bytes, *, threads: int | None = None):
        self._content = content
        self._threads = threads or default_threads()
        self._slots: dict[int, _Slot] = {}
        self._slots_lock = threading.Lock()
        self.predict_probabilities(np.zeros((1, 28, 28), np.uint8))  # plan now, not on a request

    @classmethod
    def from_keras(cls, model, *, threads: int | None = None) -> ServingModel:
        return cls(export_serving_model(model), threads=threads)

    @classmethod
    def from_keras_file(cls, path, *, threads: int | None = None) -> ServingModel:
        """Load a saved Keras model and return its served copy."""
        from training.runtime import import_keras

        return cls.from_keras(import_keras().models.load_model(path, compile=False), threads=threads)

    def describe(self) -> str:
        return f"{SERVING_FORMAT} ({len(self._content) / 1024:.0f} KiB, {self._threads} threads)"

    def predict_probabilities(self, pixels: np.ndarray) -> np.ndarray:
        """Return (N, 10) float32 probabilities for uint8 (N, 28, 28) inputs."""
        pixels = np.asarray(pixels).reshape(-1, 28, 28)
        outputs, start = [], 0
        for size in chunk_sizes(len(pixels)):
            outputs.append(self._run(pixels[start : start + size], size))
            start += size
        return np.concatenate(outputs) if outputs else np.zeros((0, NUM_CLASSES), np.float32)

    def _run(self, chunk: np.ndarray, size: int) -> np.ndarray:
        slot = self._slot(size)
        with slot.lock:
            slot.buffer[: len(chunk), :, :, 0] = chunk
            slot.buffer[len(chunk) :] = 0
            slot.interpreter.set_tensor(slot.input_index, slot.buffer)
            slot.interpreter.invoke()
            return slot.interpreter.get_tensor(slot.output_index)[: len(chunk)].copy()

    def _slot(self, size: int) -> _Slot:
        slot = self._slots.get(size)
        if slot is not None:
            return slot
        with self._slots_lock:
            slot = self._slots.get(size)
            if slot is None:
                slot = self._plan(size)
                self._slots[size] = slot
            return slot

    def _plan(self, size: int) -> _Slot:
        from ai_edge_litert.interpreter import Interpreter

        # One image is too little work to share: handing half of it to a second thread costs more than it saves
        # (batch 1, classifier and detector: 0.72 ms median with one thread, 0.97 ms with two, p95 0.86 against
        # 2.0 ms, on a busy 2-core machine), and a web process already answers one request per core. Batches of
        # 2-32 on one thread were measured too (3 December): no faster per call on a busy machine, and a digit
        # read after them was slower there, so they keep two.
        threads = 1 if size == 1 else self._threads
        interpreter = Interpreter(model_content=self._content, num_threads=threads)
        input_index = interpreter.get_input_details()[0]["index"]
        interpreter.resize_tensor_input(input_index, [size, *INPUT_SHAPE])
        interpreter.allocate_tensors()
        return _Slot(
            interpreter=interpreter,
            input_index=input_index,
            output_index=interpreter.get_output_details()[0]["index"],
            buffer=np.zeros((size, *INPUT_SHAPE), np.float32),
        )
