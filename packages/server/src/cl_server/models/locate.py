"""Where model files are found.

Search order (first hit wins, per file):
1. the explicit ``models_dir`` a caller passes (``WorkerSettings.models_dir`` / ``--models-dir``),
2. ``<data dir>/models`` (data dir: ``CL_SERVER_DIR`` or the per-user default),
3. the directory in the ``CL_MODELS_DIR`` environment variable,
4. an installed Python package that ships the file (for example ``face_recognition_models``).

Roots 1-3 hold one sub-directory per model: ``<root>/<model name>/<file name>``.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from cl_server.errors import PluginUnavailableError
from cl_server.models.registry import ModelInfo
from cl_server.settings import default_data_dir

MODELS_DIR_ENV = "CL_MODELS_DIR"
DATA_DIR_ENV = "CL_SERVER_DIR"


def data_dir_from_env() -> Path:
    value = os.environ.get(DATA_DIR_ENV)
    return Path(value) if value else default_data_dir()


def model_search_dirs(data_dir: Path | None = None, models_dir: Path | None = None) -> list[Path]:
    """Directory roots searched, in order, without duplicates (package dirs not included)."""
    roots: list[Path] = []
    if models_dir is not None:
        roots.append(models_dir)
    roots.append((data_dir if data_dir is not None else data_dir_from_env()) / "models")
    env = os.environ.get(MODELS_DIR_ENV)
    if env:
        roots.append(Path(env))
    unique: list[Path] = []
    for root in roots:
        resolved = root.expanduser().resolve()
        if resolved not in unique:
            unique.append(resolved)
    return unique


def package_dir(model: ModelInfo) -> Path | None:
    """Directory of the installed package shipping ``model``; found without importing it."""
    if model.package is None:
        return None
    try:
        spec = importlib.util.find_spec(model.package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / model.package_dir


@dataclass(frozen=True)
class FileStatus:
    name: str
    path: Path | None
    """Where the file was found; ``None`` when missing."""


def find_file(
    model: ModelInfo, name: str, *, data_dir: Path | None = None, models_dir: Path | None = None
) -> Path | None:
    model.file(name)  # KeyError for a name the registry does not know
    for root in model_search_dirs(data_dir, models_dir):
        candidate = root / model.name / name
        if candidate.is_file():
            return candidate
    pkg = package_dir(model)
    if pkg is not None and (pkg / name).is_file():
        return pkg / name
    return None


def model_status(
    model: ModelInfo, *, data_dir: Path | None = None, models_dir: Path | None = None
) -> list[FileStatus]:
    return [
        FileStatus(f.name, find_file(model, f.name, data_dir=data_dir, models_dir=models_dir))
        for f in model.files
    ]


def locate_model(
    model: ModelInfo,
    files: tuple[str, ...],
    *,
    task_type: str,
    data_dir: Path | None = None,
    models_dir: Path | None = None,
) -> dict[str, Path]:
    """Paths of ``files`` of ``model``, or ``PluginUnavailableError`` saying how to get them."""
    found: dict[str, Path] = {}
    missing: list[str] = []
    for name in files:
        path = find_file(model, name, data_dir=data_dir, models_dir=models_dir)
        if path is None:
            missing.append(name)
        else:
            found[name] = path
    if missing:
        raise PluginUnavailableError(
            f"{task_type}: model {model.name!r} not found (missing {', '.join(missing)}); "
            f"run `cl-server models pull {model.name}` or set {MODELS_DIR_ENV}"
        )
    return found
