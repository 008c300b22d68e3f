"""Check the model on digits that do not look like MNIST.

    python -m training.robustness training/artifacts/digit_cnn_v1.keras

Re-draws MNIST test digits the ways people send them (big canvas, off-centre,
tiny, inverted, transparent, marker-thick, hair-thin, photographed on tinted
paper, rotated), renders printed digits in the fonts matplotlib ships, and
draws digits with a pen from stroke templates (`training.drawn_digits`),
and, when they are installed, digits in handwriting fonts (`training.font_digits`).
Each image goes through the same preprocessing as the service, so this
measures preprocessing and model together. Prints accuracy per variant.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from training.drawn_digits import drawn_digits
from training.font_digits import font_digits, handwriting_fonts
from training.preprocessing import ImageRejected, preprocess_bytes
from training.runtime import import_keras


def _png(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def _ink(pixels: np.ndarray, size: int) -> Image.Image:
    return Image.fromarray(pixels).resize((size, size), Image.Resampling.BILINEAR)


def _on_white(ink: Image.Image, canvas=(280, 280), offset=(0, 0)) -> Image.Image:
    layer = Image.new("L", canvas, 0)
    layer.paste(ink, offset)
    return Image.fromarray(255 - np.asarray(layer))


def renderings(rng: np.random.Generator) -> dict[str, Callable[[np.ndarray], bytes]]:
    """Return the ways people send a digit, each turning a 28x28 digit (ink white) into image bytes."""

    def transparent(p):
        out = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
        layer = Image.new("RGBA", (280, 280), (20, 20, 20, 255))
        layer.putalpha(_ink(p, 280))
        out.alpha_composite(layer)
        return _png(out)

    def photo(p):
        ink = np.asarray(_ink(p, 300), np.float64)[..., None] / 255
        light = np.linspace(0.85, 1.0, 300)[None, :, None]  # uneven lighting
        paper = np.array([235, 228, 190]) * light + rng.normal(0, 6, (300, 300, 1))
        rgb = paper * (1 - ink) + np.array([40, 45, 120]) * ink
        return _png(Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)), "JPEG")

    def hair_thin(p):
        big = np.asarray(_ink(p, 560), np.float64)
        # Keep only the spine of each stroke: a 1-2 px pen on a large canvas.
        thin = Image.fromarray(((big > 200) * 255).astype(np.uint8)).filter(ImageFilter.MinFilter(9))
        return _png(_on_white(thin, canvas=(560, 560)))

    return {
        "canvas 280, centred": lambda p: _png(_on_white(_ink(p, 280))),
        "off-centre on a wide page": lambda p: _png(_on_white(_ink(p, 200), (640, 360), (400, 20))),
        "tiny (24 px) in a corner": lambda p: _png(_on_white(_ink(p, 24), (280, 280), (10, 230))),
        "huge (1200 px)": lambda p: _png(_on_white(_ink(p, 1200), (1200, 1200))),
        "light ink on dark": lambda p: _png(_ink(p, 280)),
        "transparent canvas": transparent,
        "marker thick": lambda p: _png(_on_white(_ink(p, 280).filter(ImageFilter.MaxFilter(21)))),
        "hair-thin pen": hair_thin,
        "photo on tinted paper (JPEG)": photo,
        "rotated 12 degrees": lambda p: _png(_on_white(_ink(p, 280).rotate(12, resample=Image.Resampling.BILINEAR))),
    }


def _font_digits() -> tuple[list[bytes], list[int]]:
    import matplotlib

    font_dir = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    # Text fonts only: cmex, cmsy and the STIX size variants hold symbols, not digits.
    fonts = sorted(
        p
        for p in font_dir.glob("*.ttf")
        if p.stem.startswith(("DejaVu", "cmr", "cmss", "cmtt", "cmb")) and "Display" not in p.stem
    )
    images, labels = [], []
    for path in fonts:
        font = ImageFont.truetype(str(path), 200)
        for digit in range(10):
            image = Image.new("L", (280, 280), 255)
            ImageDraw.Draw(image).text((140, 140), str(digit), font=font, fill=0, anchor="mm")
            images.append(_png(image))
            labels.append(digit)
    return images, labels


def preprocessed(encoded: list[bytes], labels: list[int]) -> tuple[list[np.ndarray], list[int]]:
    """Return the model inputs of the pictures the service accepts, and their labels; refused ones left out."""
    inputs, kept = [], []
    for data, label in zip(encoded, labels, strict=True):
        try:
            inputs.append(preprocess_bytes(data))
            kept.append(label)
        except ImageRejected:
            continue
    return inputs, kept


def evaluate(model_path: str, count: int = 500, seed: int = 0) -> list[tuple[str, float, int, int]]:
    """Return (variant, accuracy, images, refused) rows for the model at `model_path`."""
    from training.data import load_sample
    from training.evaluate import predict_probabilities
    from training.serving import ServingModel

    model = ServingModel.from_keras(import_keras().models.load_model(model_path, compile=False))
    rng = np.random.default_rng(seed)
    sample = load_sample()
    pick = rng.choice(len(sample.x_test), size=min(count, len(sample.x_test)), replace=False)
    digits, labels = sample.x_test[pick], sample.y_test[pick]

    def score(name: str, encoded: list[bytes], truth: list[int]) -> tuple[str, float, int, int]:
        inputs, kept = preprocessed(encoded, truth)
        refused = len(encoded) - len(inputs)
        if not inputs:
            return name, 0.0, len(encoded), refused
        predicted = predict_probabilities(model, np.stack(inputs)).argmax(axis=1)
        right = int((predicted == np.array(kept)).sum())
        return name, right / len(encoded), len(encoded), refused

    rows = [score(name, [make(d) for d in digits], list(labels)) for name, make in renderings(rng).items()]
    rows.append(score("printed digits (matplotlib fonts)", *_font_digits()))
    rows.append(score("pen-drawn digits (stroke templates)", *drawn_digits(count, seed=seed)))
    if handwriting_fonts():  # other people's hands, when their fonts are installed (training.font_digits)
        images, labels, _fonts = font_digits(count, seed)
        rows.append(score("handwriting fonts", images, labels))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Accuracy on digits drawn unlike MNIST.")
    parser.add_argument("model", help="path to a .keras model")
    parser.add_argument("--count", type=int, default=500, help="MNIST test digits per variant")
    args = parser.parse_args(argv)
    print(f"{'variant':<36}{'accuracy':>10}{'images':>8}{'refused':>9}")
    for name, accuracy, images, refused in evaluate(args.model, args.count):
        print(f"{name:<36}{accuracy:>10.4f}{images:>8}{refused:>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())


def _neighbours(ink: np.ndarray) -> list[np.ndarray]:
    padded = np.pad(ink, ((0, 0), (1, 1), (1, 1)))
    return [padded[:, 1:-1, :-2], padded[:, 1:-1, 2:], padded[:, :-2, 1:-1], padded[:, 2:, 1:-1]]


def outlined(images: np.ndarray) -> np.ndarray:
    """Redraw (N, 28, 28) digits hollow, as with a bubble pen: a style the MNIST model often gets wrong.

    A check style, never a training one: the retraining benchmark and tests use it as the new style
    that fine-tuning must learn.
    """
    ink = np.asarray(images) > 96
    thick = ink | np.logical_or.reduce(_neighbours(ink))
    inner = thick & np.logical_and.reduce(_neighbours(thick))
    return ((thick & ~inner) * 255).astype(np.uint8)
