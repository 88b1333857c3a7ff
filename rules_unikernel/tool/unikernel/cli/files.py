"""The files a command is given: where they are, and the manifest next to an image."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from .errors import CliError

MANIFEST_SUFFIX = ".manifest.json"
# Longest first: image.debug.elf shares image.elf's manifest.
IMAGE_SUFFIXES = (".debug.elf", ".elf")


def resolve(text: str, environ: Mapping[str, str] | None = None) -> Path:
    """A path from the command line, as the user meant it.

    ``bazel run`` starts the program in its runfiles directory and says where
    the user was in BUILD_WORKING_DIRECTORY; relative paths are relative to that.
    """
    path = Path(text)
    base = (os.environ if environ is None else environ).get("BUILD_WORKING_DIRECTORY")
    if base and not path.is_absolute():
        return Path(base) / path
    return path


def is_debug_twin(image: Path) -> bool:
    return image.name.endswith(IMAGE_SUFFIXES[0])


def default_manifest(image: Path) -> Path:
    """``out/image.elf`` and ``out/image.debug.elf`` -> ``out/image.manifest.json``."""
    name = image.name
    for suffix in IMAGE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return image.with_name(name[: -len(suffix)] + MANIFEST_SUFFIX)
    return image.with_name(name + MANIFEST_SUFFIX)


def debug_twin(image: Path) -> Path | None:
    """``image.elf`` -> ``image.debug.elf``, where the symbols of a stripped image are."""
    if is_debug_twin(image) or not image.name.endswith(".elf"):
        return None
    return image.with_name(image.name.removesuffix(".elf") + IMAGE_SUFFIXES[0])


def find_manifest(image: Path, given: Path | None) -> Path | None:
    """The manifest to use: the one given (it must exist) or the image's sibling, if any."""
    if given is not None:
        return given
    sibling = default_manifest(image)
    return sibling if sibling.is_file() else None


def load_manifest(path: Path) -> dict[str, object]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CliError(f"cannot read manifest {path}: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise CliError(f"manifest {path} is not UTF-8 text") from error
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as error:
        raise CliError(f"manifest {path} is not JSON: {error}") from error
    if not isinstance(manifest, dict):
        raise CliError(f"manifest {path} is not a JSON object")
    return manifest
