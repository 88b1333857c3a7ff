"""The link manifest: what went into the image and where, as stable JSON.

It is built from the data the link used (the plan, the symbol resolution,
lld's garbage-collection report) and the facts read back from the image,
never recomputed. No timestamps and no absolute paths: input files appear by
file name (and archive member), components by Bazel label.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from .model import SHF_ALLOC, InputFile, InputSpec, components_of
from .plan import LayoutPlan
from .symtab import Resolution
from .verify import ImageInfo, permissions

FORMAT = "rules_unikernel.link.manifest.v1"


@dataclass(frozen=True)
class KeptSection:
    file: InputFile
    name: str
    output: str
    size: int


def kept_sections(plan: LayoutPlan, removed: Counter[tuple[str, str]]) -> tuple[KeptSection, ...]:
    """Input sections of the image that lld did not garbage-collect."""
    left = Counter(removed)
    kept = []
    for item in plan.assignments:
        section = item.file.sections[item.section_index]
        key = (item.file.origin.lld_name, section.name)
        if left[key] > 0:
            left[key] -= 1
            continue
        kept.append(KeptSection(item.file, section.name, item.output, section.size))
    return tuple(kept)


def build_manifest(
    *,
    specs: Sequence[InputSpec],
    resolution: Resolution,
    plan: LayoutPlan,
    removed: Counter[tuple[str, str]],
    image: ImageInfo,
    guest_name: str,
) -> dict[str, object]:
    kept = kept_sections(plan, removed)
    return {
        "format": FORMAT,
        "guest_name": guest_name,
        "entry": {"symbol": plan.entry, "address": _hex(image.entry)},
        "image": {"sha256": image.sha256, "size": image.size, "build_id": image.build_id},
        "segments": [
            {
                "type": segment.kind,
                "permissions": permissions(segment.flags),
                "address": _hex(segment.vaddr),
                "physical_address": _hex(segment.paddr),
                "file_size": segment.filesz,
                "memory_size": segment.memsz,
                "sections": list(segment.sections),
            }
            for segment in image.segments
        ],
        "sections": [
            {"name": section.name, "address": _hex(section.address), "size": section.size}
            for section in image.sections
            if section.flags & SHF_ALLOC
        ],
        "components": _components(specs, resolution, kept),
    }


def render(manifest: dict[str, object]) -> str:
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"


def _components(
    specs: Sequence[InputSpec], resolution: Resolution, kept: tuple[KeptSection, ...]
) -> list[dict[str, object]]:
    by_file: dict[InputFile, list[KeptSection]] = {}
    for item in kept:
        by_file.setdefault(item.file, []).append(item)
    loaded = sorted(resolution.loaded, key=lambda f: f.origin.order)
    components = []
    for component in components_of(tuple(specs)):
        inputs = [
            _input(file, by_file.get(file, [])) for file in loaded if file.origin.spec in component.specs
        ]
        components.append(
            {
                "label": component.label,
                "size": sum(int(entry["size"]) for entry in inputs),
                "inputs": inputs,
            }
        )
    return components


def _input(file: InputFile, sections: list[KeptSection]) -> dict[str, object]:
    return {
        "file": file.origin.spec.file_name,
        "member": file.origin.member,
        "size": sum(s.size for s in sections),
        "sections": [{"name": s.name, "output": s.output, "size": s.size} for s in sections],
    }


def _hex(value: int) -> str:
    return f"{value:#x}"
