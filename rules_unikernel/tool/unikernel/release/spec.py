"""What the unikernel_release rule hands the bundler: a JSON spec of paths and facts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import ReleaseError


@dataclass(frozen=True)
class Volume:
    path: Path
    name: str  # its file name, as the image's .xl.cfg names it
    read_only: bool


@dataclass(frozen=True)
class Image:
    label: str
    directory: str  # where its files go inside the bundle (the package's path)
    name: str
    elf: Path
    debug_elf: Path
    manifest: Path
    xl_cfg: Path
    cmdline: str
    memory_mib: int
    volumes: tuple[Volume, ...]


@dataclass(frozen=True)
class Source:
    target: str  # the Bazel target that lists the file (srcs or hdrs)
    name: str  # its path in its repository ("external/<repo>/..." for other repositories)
    path: Path


@dataclass(frozen=True)
class Pin:
    """A fetched dependency, pinned in rules_unikernel/versions.bzl."""

    name: str
    version: str
    archive: str
    sha256: str
    purl: str


@dataclass(frozen=True)
class Spec:
    release: str  # the unikernel_release target's label
    name: str  # the bundle's top directory
    images: tuple[Image, ...]
    sources: tuple[Source, ...]
    pins: tuple[Pin, ...]
    python_lock: Path
    status_file: Path | None  # Bazel's stable-status.txt (the commit, under --config=release)
    aslr_seed: str  # --//rules_unikernel:aslr_seed ("" when unset)
    aslr_seed_file: str  # --//rules_unikernel:aslr_seed_file's label ("" when unset)


def load_spec(path: Path) -> Spec:
    try:
        raw = json.loads(path.read_text())
        return Spec(
            release=raw["release"],
            name=raw["name"],
            images=tuple(
                Image(
                    label=i["label"],
                    directory=i["directory"],
                    name=i["name"],
                    elf=Path(i["elf"]),
                    debug_elf=Path(i["debug_elf"]),
                    manifest=Path(i["manifest"]),
                    xl_cfg=Path(i["xl_cfg"]),
                    cmdline=i["cmdline"],
                    memory_mib=int(i["memory_mib"]),
                    volumes=tuple(
                        Volume(Path(v["path"]), v["name"], bool(v["read_only"])) for v in i["volumes"]
                    ),
                )
                for i in raw["images"]
            ),
            sources=tuple(Source(s["target"], s["name"], Path(s["path"])) for s in raw["sources"]),
            pins=tuple(Pin(**p) for p in raw["pins"]),
            python_lock=Path(raw["python_lock"]),
            status_file=Path(raw["status_file"]) if raw.get("status_file") else None,
            aslr_seed=raw.get("aslr_seed", ""),
            aslr_seed_file=raw.get("aslr_seed_file", ""),
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ReleaseError(f"release spec {path}: {error}") from None


def python_pins(lock: Path) -> tuple[Pin, ...]:
    """The Python packages of a pip-compile --generate-hashes lock file, each with its hashes."""
    pins: list[Pin] = []
    name = version = ""
    hashes: list[str] = []

    def flush() -> None:
        if name:
            pins.append(
                Pin(
                    name,
                    version,
                    f"{name}=={version}",
                    ",".join(hashes),
                    f"pkg:pypi/{name.lower()}@{version}",
                )
            )

    for line in lock.read_text().splitlines():
        text = line.strip().rstrip("\\").strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith("--hash=sha256:"):
            hashes.append(text.removeprefix("--hash=sha256:"))
        elif "==" in text and not line.startswith(" "):
            flush()
            name, version = (part.strip() for part in text.split("==", 1))
            version = version.split(";")[0].strip()
            hashes = []
    flush()
    if not pins:
        raise ReleaseError(
            f"{lock}: no pinned packages (expected pip-compile's `name==version --hash=...` lines)"
        )
    return tuple(pins)


def commit_of(status_file: Path | None) -> str:
    """The commit Bazel's workspace status reported (tools/workspace_status.sh), or "unknown"."""
    if status_file is None:
        return "unknown"
    for line in status_file.read_text().splitlines():
        key, _, value = line.partition(" ")
        if key == "STABLE_RULES_UNIKERNEL_COMMIT" and value.strip():
            return value.strip()
    return "unknown"
