"""The bundle's SBOM in CycloneDX 1.5 JSON (docs/reproducibility.md says why CycloneDX).

Components, each with a unique bom-ref:
- one `application` per image (its .elf's SHA-256, the path of its page), depending on what it links;
- one `library` per Bazel target with sources (bom-ref = its label), nested
  `file` components for each source and header with its SHA-256; the
  property `rules_unikernel:linked` says whether the linker's manifest lists
  it as a component of some image (header-only targets are not linked);
- one component per fetched dependency (zig, lwIP, littlefs, each Python
  package) with its version, purl and the pinned SHA-256(s).
No timestamps; the serial number is derived from the content.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .bundle import Entry
    from .spec import Image, Pin, Source, Spec


def _hash(value: str) -> dict[str, str]:
    return {"alg": "SHA-256", "content": value}


def _linked(manifests: dict[str, dict]) -> dict[str, set[str]]:
    """{component label: images that link it}, from the manifests' component tables."""
    out: dict[str, set[str]] = {}
    for image, manifest in manifests.items():
        for component in manifest.get("components", []):
            out.setdefault(component["label"], set()).add(image)
    return out


def _picture(by_path: dict[str, Entry], image: Image) -> Entry:
    return by_path[str(PurePosixPath(image.directory, f"{image.name}.html"))]


def build(
    spec: Spec,
    files: list[Entry],
    manifests: dict[str, dict],
    sources: list[tuple[Source, str]],
    pins: tuple[Pin, ...],
) -> dict[str, object]:
    by_path = {f.path: f for f in files}
    linked = _linked(manifests)
    targets: dict[str, list[tuple[Source, str]]] = {}
    for source, digest in sources:
        targets.setdefault(source.target, []).append((source, digest))
    for label in linked:
        targets.setdefault(label, [])

    components: list[dict[str, object]] = []
    dependencies: list[dict[str, object]] = []
    for image in spec.images:
        elf = by_path[str(PurePosixPath(image.directory, f"{image.name}.elf"))]
        ref = f"image:{image.label}"
        components.append(
            {
                "type": "application",
                "bom-ref": ref,
                "name": image.label,
                "hashes": [_hash(elf.sha256)],
                "properties": [
                    {"name": "rules_unikernel:file", "value": elf.path},
                    # The page `unikernel inspect --html` draws of it: layout, kept and removed code, entropy.
                    {"name": "rules_unikernel:picture", "value": _picture(by_path, image).path},
                ],
            }
        )
        linked_here = sorted(label for label, images in linked.items() if image.label in images)
        dependencies.append({"ref": ref, "dependsOn": linked_here})
    for label in sorted(targets):
        files_of = sorted(targets[label], key=lambda s: s[0].name)
        components.append(
            {
                "type": "library",
                "bom-ref": label,
                "name": label,
                "properties": [
                    {"name": "rules_unikernel:linked", "value": "true" if label in linked else "false"}
                ],
                "components": [
                    {"type": "file", "bom-ref": f"{label}#{s.name}", "name": s.name, "hashes": [_hash(d)]}
                    for s, d in files_of
                ],
            }
        )
    for pin in pins:
        components.append(
            {
                "type": "application" if pin.name == "zig" else "library",
                "bom-ref": pin.purl,
                "name": pin.name,
                "version": pin.version,
                "purl": pin.purl,
                "hashes": [_hash(h) for h in pin.sha256.split(",") if h],
                "properties": [{"name": "rules_unikernel:archive", "value": pin.archive}],
            }
        )
    bom: dict[str, object] = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {
            "component": {"type": "application", "bom-ref": f"release:{spec.release}", "name": spec.release},
            "tools": {"components": [{"type": "application", "name": "rules_unikernel unikernel_release"}]},
        },
        "components": components,
        "dependencies": [
            {"ref": f"release:{spec.release}", "dependsOn": [f"image:{i.label}" for i in spec.images]},
            *dependencies,
        ],
    }
    # A serial number derived from the content: the same release, the same number.
    digest = hashlib.sha256(render(bom)).digest()
    bom["serialNumber"] = f"urn:uuid:{uuid.UUID(bytes=digest[:16], version=5)}"
    return bom


def render(bom: dict[str, object]) -> bytes:
    return (json.dumps(bom, indent=2, sort_keys=False, ensure_ascii=True) + "\n").encode()
