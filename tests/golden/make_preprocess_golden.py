#!/usr/bin/python3
"""Golden references for engine/preprocess.cpp from torchvision's PIL pipeline.

For every case this writes the input image, PIL's 8-bit resize output (PNG, to check
resize_like_pil bit for bit) and the float32 CHW tensor that
    Resize(resize, interpolation) -> CenterCrop(crop) -> ToTensor -> Normalize(mean, std)
produces (raw little-endian .f32), plus index.json describing shapes and configs.

    tests/golden/make_preprocess_golden.py               # rewrites tests/golden/preprocess/
    tests/golden/make_preprocess_golden.py --bench DIR   # larger photo-like images at the
                                                         # default 248/224 for the benchmark

Needs Debian's python3 (PIL 9.4, torchvision 0.14). Inputs are synthetic and seeded, so
the output is reproducible.
"""
import argparse
import json
import struct
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import PIL
import torch
import torchvision
from PIL import Image, ImageOps
from torchvision import transforms as T

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
INTERP = {
    "bicubic": T.InterpolationMode.BICUBIC,
    "bilinear": T.InterpolationMode.BILINEAR,
    "nearest": T.InterpolationMode.NEAREST,
}


def photo_like(h, w, seed, channels=3):
    """Smooth gradients, blobs, hard edges, texture and sensor-like noise: the mix that
    exercises every tap of a resampling filter (flat areas alone would hide errors)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, channels))
    for c in range(channels):
        a, b, p = rng.uniform(-1, 1, 3)
        img[..., c] = 110 + 60 * (a * x / w + b * y / h) + 25 * np.sin(x / w * 7 * p + y / h * 5)
    for _ in range(6):  # soft blobs
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0.05, 0.3) * min(h, w)
        col = rng.uniform(-90, 90, channels)
        img += np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r * r))[..., None] * col
    for _ in range(4):  # hard-edged rectangles
        y0, x0 = rng.integers(0, h), rng.integers(0, w)
        y1, x1 = y0 + rng.integers(h // 10 + 1, h // 3 + 2), x0 + rng.integers(w // 10 + 1, w // 3 + 2)
        img[y0:y1, x0:x1] = rng.uniform(0, 255, channels)
    img[:, (w * 2) // 3 : (w * 2) // 3 + 2] = 255  # a thin line: ringing of bicubic
    img += 12 * np.sin(x * 1.3 + y * 0.7)[..., None]  # fine texture near Nyquist
    img += rng.normal(0, 6, img.shape)
    out = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return out[..., 0] if channels == 1 else out


def write_png16(path, arr):
    """16-bit PNG written by hand: PIL 9.4 cannot save 16-bit RGB."""
    h, w = arr.shape[:2]
    color_type = {1: 0, 3: 2, 4: 6}[1 if arr.ndim == 2 else arr.shape[2]]
    raw = b"".join(b"\x00" + arr[r].astype(">u2").tobytes() for r in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    path.write_bytes(png)


def open_like_swinscope(path, channels, note):
    """PIL open + convert as timm does, with the two documented departures of
    load_image: EXIF orientation is applied, and 16-bit grayscale keeps its high byte
    (PIL 9.4 opens it as mode "I" and convert() saturates at 255, whitening the image)."""
    im = Image.open(path)
    im = ImageOps.exif_transpose(im)
    if im.mode in ("I", "I;16", "I;16B"):
        a = np.asarray(im).astype(np.uint32)
        im = Image.fromarray((a >> 8).astype(np.uint8), "L")
        note.append("16-bit grayscale: high byte kept (PIL 9.4 would saturate at 255)")
    return im.convert("RGB" if channels == 3 else "L")


def run_case(
    out_dir, name, input_file, resize, crop, interpolation="bicubic", channels=3, mean=None, std=None, inexact=None
):
    """inexact: why this case cannot match PIL bit for bit (the decoded pixels differ);
    the test then allows one 8-bit level in the tensor and two in the resize."""
    mean = mean or (IMAGENET_MEAN if channels == 3 else [0.5])
    std = std or (IMAGENET_STD if channels == 3 else [0.5])
    note = []
    im = open_like_swinscope(out_dir / input_file, channels, note)
    mode = INTERP[interpolation]
    tf = T.Compose([T.Resize(resize, interpolation=mode), T.CenterCrop(crop), T.ToTensor(), T.Normalize(mean, std)])
    x = tf(im)
    assert x.dtype == torch.float32 and x.shape == (channels, crop, crop)
    x.numpy().astype("<f4").tofile(out_dir / f"{name}.f32")
    resized = T.Resize(resize, interpolation=mode)(im)
    resized.save(out_dir / f"{name}_resized.png")
    # PreprocessConfig always holds three; a 1-channel model uses only the first.
    full_mean, full_std = (mean, std) if channels == 3 else (mean * 3, std * 3)
    return {
        "name": name,
        "input": input_file,
        "decoded": {"width": im.width, "height": im.height},
        "config": {
            "resize": resize,
            "crop": crop,
            "interpolation": interpolation,
            "mean": full_mean,
            "std": full_std,
            "channels": channels,
        },
        "resized": {"file": f"{name}_resized.png", "width": resized.width, "height": resized.height},
        "expected": {"file": f"{name}.f32", "shape": [channels, crop, crop]},
        "exact": inexact is None,
        "note": "; ".join(note + ([inexact] if inexact else [])),
    }


def time_torchvision(path, case, repeats=7):
    """Median wall time of the whole reference path, file to tensor, in milliseconds."""
    cfg = case["config"]
    n = cfg["channels"]
    tf = T.Compose(
        [
            T.Resize(cfg["resize"], interpolation=INTERP[cfg["interpolation"]]),
            T.CenterCrop(cfg["crop"]),
            T.ToTensor(),
            T.Normalize(cfg["mean"][:n], cfg["std"][:n]),
        ]
    )
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        tf(Image.open(path).convert("RGB" if n == 3 else "L"))
        times.append((time.perf_counter() - t0) * 1e3)
    return sorted(times)[repeats // 2]


def golden(out_dir):
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in list(out_dir.glob("*.f32")) + list(out_dir.glob("*_resized.png")):
        old.unlink()
    Image.fromarray(photo_like(120, 160, 1)).save(out_dir / "photo.jpg", quality=90)
    Image.fromarray(photo_like(150, 90, 2)).save(out_dir / "tall.png")
    Image.fromarray(photo_like(80, 100, 3, channels=1), "L").save(out_dir / "gray.png")
    rgba = np.dstack([photo_like(80, 100, 4), photo_like(80, 100, 5, channels=1)])
    Image.fromarray(rgba, "RGBA").save(out_dir / "rgba.png")
    rng = np.random.default_rng(6)
    # 16-bit data whose low byte is noise: >> 8 must be what survives.
    hi = photo_like(88, 64, 7).astype(np.uint16)
    write_png16(out_dir / "rgb16.png", (hi << 8) | rng.integers(0, 256, hi.shape, dtype=np.uint16))
    hi = photo_like(90, 70, 8, channels=1).astype(np.uint16)
    write_png16(out_dir / "gray16.png", (hi << 8) | rng.integers(0, 256, hi.shape, dtype=np.uint16))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": stored 140x100, shown 100x140
    Image.fromarray(photo_like(100, 140, 9)).save(out_dir / "exif6.jpg", quality=90, exif=exif)
    Image.fromarray(photo_like(17, 23, 10)).save(out_dir / "tiny.png")
    Image.fromarray(photo_like(240, 320, 11)).save(out_dir / "default.jpg", quality=85)
    # Adobe (inverted) CMYK JPEG, as PIL writes it; ImageNet's training set has a few.
    Image.fromarray(photo_like(60, 80, 12)).convert("CMYK").save(out_dir / "cmyk.jpg", quality=90)

    cases = [
        run_case(out_dir, "photo", "photo.jpg", 56, 48),
        run_case(out_dir, "photo_bilinear", "photo.jpg", 56, 48, "bilinear"),
        run_case(out_dir, "photo_nearest", "photo.jpg", 56, 48, "nearest"),
        run_case(out_dir, "photo_gray", "photo.jpg", 56, 48, channels=1, mean=[0.2860], std=[0.3530]),
        run_case(out_dir, "tall", "tall.png", 56, 48),
        run_case(out_dir, "tall_pad", "tall.png", 40, 48),  # crop > resize: zero padding
        run_case(out_dir, "gray", "gray.png", 56, 48),
        run_case(out_dir, "rgba", "rgba.png", 56, 48),
        run_case(out_dir, "rgb16", "rgb16.png", 56, 48),
        run_case(out_dir, "gray16", "gray16.png", 56, 48),
        run_case(out_dir, "exif6", "exif6.jpg", 56, 48),
        run_case(out_dir, "tiny", "tiny.png", 56, 48),
        run_case(out_dir, "tiny_nearest", "tiny.png", 56, 48, "nearest"),
        run_case(out_dir, "default", "default.jpg", 248, 224),
        run_case(
            out_dir,
            "cmyk",
            "cmyk.jpg",
            56,
            48,
            inexact="CMYK JPEG: from the stored (Adobe-inverted) samples c, k OpenCV's decoder computes "
            "k - ((255 - c) * k >> 8), PIL k - round((255 - c) * k / 255); decoded pixels differ by up to one level",
        ),
    ]
    return cases


def bad_images(bad_dir, good_jpeg, good_png):
    """Files load_image must reject, each for a reason the error message names."""
    bad_dir.mkdir(parents=True, exist_ok=True)
    (bad_dir / "empty.jpg").write_bytes(b"")
    (bad_dir / "not_an_image.jpg").write_text("This is a text file with a .jpg name.\n")
    data = good_jpeg.read_bytes()
    (bad_dir / "truncated.jpg").write_bytes(data[: len(data) * 3 // 5])  # cut inside the scan
    (bad_dir / "truncated_eoi.jpg").write_bytes(data[:-2])  # every scan byte, no EOI marker
    data = good_png.read_bytes()
    (bad_dir / "truncated.png").write_bytes(data[: len(data) // 2])


def bench(out_dir):
    out_dir.mkdir(parents=True, exist_ok=True)
    sizes = [(375, 500), (500, 375), (480, 640), (600, 800), (768, 1024), (1080, 1920)]
    cases = []
    for i, (h, w) in enumerate(sizes):
        name = f"photo_{w}x{h}"
        Image.fromarray(photo_like(h, w, 100 + i)).save(out_dir / f"{name}.jpg", quality=90)
        case = run_case(out_dir, name, f"{name}.jpg", 248, 224)
        case["torchvision_ms"] = round(time_torchvision(out_dir / f"{name}.jpg", case), 3)
        cases.append(case)
    return cases


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", type=Path, help="write benchmark photos here instead of the golden set")
    args = ap.parse_args()
    out_dir = args.bench or Path(__file__).resolve().parent / "preprocess"
    cases = bench(out_dir) if args.bench else golden(out_dir)
    if not args.bench:
        bad_images(out_dir.parent.parent / "data" / "bad_images", out_dir / "photo.jpg", out_dir / "tall.png")
    index = {
        "generator": "tests/golden/make_preprocess_golden.py",
        "pipeline": "PIL open, exif_transpose, convert; Resize(resize, interp); CenterCrop(crop); ToTensor; Normalize",
        "pil": PIL.__version__,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "cases": cases,
    }
    (out_dir / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    total = sum(p.stat().st_size for p in out_dir.iterdir())
    print(f"wrote {len(cases)} cases to {out_dir} ({total / 1e6:.2f} MB)", file=sys.stderr)


if __name__ == "__main__":
    main()
