"""Every model an ML plugin can use: its files, checksums, source and input/output contract.

A model lives in a directory named after it (``<root>/<model name>/<file name>``) under one of the
search roots of ``cl_server.models.locate``, or inside an installed Python package that ships it.
A checksum of ``None`` means the file's SHA-256 could not be pinned from a machine without access
to the source (see docs/models.md); ``models pull`` then trusts the first download and records
its SHA-256 in the lock file (``cl_server.models.lock``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class HubFile:
    """A file in a Hugging Face hub repository, fetched with ``huggingface_hub``."""

    repo: str
    revision: str
    path: str
    """Path inside the repository; the installed name is ``ModelFile.name``."""


@dataclass(frozen=True)
class ModelFile:
    name: str
    """File name inside the model's directory (and inside ``package_dir`` when shipped)."""
    sha256: str | None
    url: str | None
    """Plain HTTPS source, used when ``hub`` is ``None``."""
    size: int | None = None
    """Bytes, when known; used only for the progress bar before the server says."""
    hub: HubFile | None = None


@dataclass(frozen=True)
class ImageContract:
    """How an image encoder wants its input: ``[N, 3, size, size] float32`` after these steps."""

    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resample: Literal["bicubic", "bilinear"]


@dataclass(frozen=True)
class ModelInfo:
    name: str
    description: str
    task_types: tuple[str, ...]
    runtime: Literal["onnxruntime", "dlib"]
    files: tuple[ModelFile, ...]
    contract: str
    """Input/output contract in words (shown by ``models list``)."""
    embedding_dim: int | None = None
    image: ImageContract | None = None
    context_length: int | None = None
    """Text encoders: token sequence length (``[N, context_length] int64`` input)."""
    package: str | None = None
    """Importable package that ships the files (located with importlib, never imported)."""
    package_dir: str = ""
    """Sub-directory of that package holding the files."""
    license: str = ""

    def file(self, name: str) -> ModelFile:
        for f in self.files:
            if f.name == name:
                return f
        raise KeyError(f"model {self.name!r} has no file {name!r}")


_FRM_URL = (
    "https://github.com/ageitgey/face_recognition_models/raw/master/face_recognition_models/models/"
)

MOBILECLIP_S2 = ModelInfo(
    name="mobileclip-s2",
    description="Apple MobileCLIP-S2 image and text encoders (ONNX export) with CLIP's BPE vocab",
    task_types=("clip_embedding", "clip_text_embedding"),
    runtime="onnxruntime",
    files=(
        ModelFile(
            "vision_model.onnx",
            sha256=None,
            url=None,
            hub=HubFile("Xenova/mobileclip_s2", "main", "onnx/vision_model.onnx"),
        ),
        ModelFile(
            "text_model.onnx",
            sha256=None,
            url=None,
            hub=HubFile("Xenova/mobileclip_s2", "main", "onnx/text_model.onnx"),
        ),
        ModelFile(
            "bpe_simple_vocab_16e6.txt.gz",
            sha256="924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a",
            url="https://github.com/openai/CLIP/raw/main/clip/bpe_simple_vocab_16e6.txt.gz",
            size=1356917,
        ),
    ),
    contract=(
        "vision_model.onnx: [N,3,256,256] float32 -> [N,512]; "
        "text_model.onnx: [N,77] int64 token ids -> [N,512]"
    ),
    embedding_dim=512,
    # MobileCLIP was trained without mean/std normalisation (open_clip's config: mean 0, std 1).
    image=ImageContract(size=256, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), resample="bicubic"),
    context_length=77,
    # open_clip ships the same BPE vocabulary; used when it happens to be installed.
    package="open_clip",
    package_dir="",
    license="apple-amlr (weights); MIT (vocabulary)",
)

DINOV2_VITS14 = ModelInfo(
    name="dinov2-vits14",
    description="Meta DINOv2 ViT-S/14 (ONNX export); the CLS token is the embedding",
    task_types=("dino_embedding",),
    runtime="onnxruntime",
    files=(
        ModelFile(
            "model.onnx",
            sha256=None,
            url=None,
            hub=HubFile("onnx-community/dinov2-small", "main", "onnx/model.onnx"),
        ),
    ),
    contract="model.onnx: [N,3,224,224] float32 -> [N,257,384] tokens (CLS first) or [N,384]",
    embedding_dim=384,
    image=ImageContract(size=224, mean=IMAGENET_MEAN, std=IMAGENET_STD, resample="bilinear"),
    license="Apache-2.0",
)

DLIB_FACE_LANDMARKS_5 = ModelInfo(
    name="dlib-landmarks-5",
    description="dlib 5-point face landmark predictor (used with dlib's built-in HOG detector)",
    task_types=("face_detection", "face_embedding"),
    runtime="dlib",
    files=(
        ModelFile(
            "shape_predictor_5_face_landmarks.dat",
            sha256="c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
            url=_FRM_URL + "shape_predictor_5_face_landmarks.dat",
            size=9150489,
        ),
    ),
    contract="image + face box -> 5 points (both corners of each eye, base of the nose)",
    package="face_recognition_models",
    package_dir="models",
    license="CC0-1.0",
)

DLIB_RESNET_V1 = ModelInfo(
    name="dlib-resnet-v1",
    description="dlib ResNet face descriptor (dlib_face_recognition_resnet_model_v1)",
    task_types=("face_embedding",),
    runtime="dlib",
    files=(
        ModelFile(
            "dlib_face_recognition_resnet_model_v1.dat",
            sha256="55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
            url=_FRM_URL + "dlib_face_recognition_resnet_model_v1.dat",
            size=22466066,
        ),
    ),
    contract="150x150 aligned face chip (uint8 RGB) -> [128] float",
    embedding_dim=128,
    package="face_recognition_models",
    package_dir="models",
    license="CC0-1.0",
)

AURAFACE_V1 = ModelInfo(
    name="auraface-v1",
    description="AuraFace v1 ArcFace-class face recognition (ResNet100, glint360k-style), 512-d",
    task_types=("face_embedding",),
    runtime="onnxruntime",
    files=(
        ModelFile(
            "glintr100.onnx",
            sha256=None,
            url=None,
            hub=HubFile("fal/AuraFace-v1", "main", "glintr100.onnx"),
        ),
    ),
    contract=(
        "glintr100.onnx: [N,3,112,112] float32 RGB, (x-127.5)/127.5, "
        "ArcFace-aligned 112x112 crop -> [N,512]"
    ),
    embedding_dim=512,
    image=ImageContract(size=112, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), resample="bilinear"),
    license="Apache-2.0",
)

MODELS: dict[str, ModelInfo] = {
    m.name: m
    for m in (MOBILECLIP_S2, DINOV2_VITS14, DLIB_FACE_LANDMARKS_5, DLIB_RESNET_V1, AURAFACE_V1)
}


def get_model(name: str) -> ModelInfo:
    try:
        return MODELS[name]
    except KeyError:
        known = ", ".join(sorted(MODELS))
        raise KeyError(f"unknown model {name!r} (known: {known})") from None
