"""The link manifest: what went into the image and where, as stable JSON.

It is built from the data the link used (the plan, mark-live's liveness,
which lld confirmed, the layout randomisation, the per-component accounting)
and the facts read back from the image, never recomputed. No timestamps and
no absolute paths: input files appear by file name (and archive member),
components by Bazel label. docs/manifest.md describes every field.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from . import aslr, seal
from .marklive import Liveness
from .model import SHF_ALLOC, InputFile, InputSpec, components_of
from .plan import Assignment, LayoutPlan
from .symtab import Resolution
from .usage import ComponentUsage, Function, account, largest_functions
from .verify import ImageInfo, permissions

SCHEMA = 1
FORMAT = "rules_unikernel.link.manifest"

_KINDS = {kind.value: kind.name.lower() for kind in seal.Kind}


@dataclass(frozen=True)
class LinkFacts:
    """Everything the manifest is written from."""

    specs: Sequence[InputSpec]
    resolution: Resolution
    plan: LayoutPlan
    liveness: Liveness
    layout: aslr.Randomisation
    image: ImageInfo
    seal: seal.Seal
    guest_name: str


def build_manifest(facts: LinkFacts) -> dict[str, object]:
    image, plan = facts.image, facts.plan
    return {
        "schema": SCHEMA,
        "format": FORMAT,
        "guest_name": facts.guest_name,
        "entry": {"symbol": plan.entry, "address": _hex(image.entry)},
        "image": {"sha256": image.sha256, "size": image.size, "build_id": image.build_id},
        "layout": _layout(facts.layout),
        "boot_randomisation": _boot_randomisation(facts.resolution, facts.liveness),
        "gc": _gc(facts.liveness),
        "seal": _seal(facts.seal),
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
        "components": _components(facts.specs, facts.resolution, plan.assignments),
        "largest_functions": [_function(f, with_label=True) for f in largest_functions(plan.assignments)],
    }


def render(manifest: dict[str, object]) -> str:
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"


def _layout(layout: aslr.Randomisation) -> dict[str, object]:
    entropy = layout.entropy
    seed: dict[str, object] = {
        "seed": layout.seed,
        "seed_kind": layout.kind,
    }
    if layout.seed_id is not None:
        seed["seed_id"] = layout.seed_id
    return {
        **seed,
        "randomised": layout.seed != aslr.NONE,
        "base": _hex(layout.base),
        "window": {"start": _hex(layout.window_start), "end": _hex(layout.window_end)},
        "size_bound": layout.size_bound,
        "bases": layout.bases,
        "shuffled_functions": layout.functions,
        "shuffled_objects": {name.lstrip("."): count for name, count in layout.objects},
        "named_units": {name.lstrip("."): count for name, count in layout.named},
        "padding_max": layout.padding_max,
        "entropy": {
            "base_bits": entropy.base_bits,
            "order_bits": entropy.order_bits,
            "order_bits_per_function": entropy.order_bits_per_function,
            "function_position_bits": entropy.function_position_bits,
            "padding_bits_per_function": entropy.padding_bits_per_function,
            "padding_bits": entropy.padding_bits,
            "entry_position_bits": entropy.entry_position_bits,
            "rodata_order_bits": entropy.rodata_order_bits,
            "data_order_bits": entropy.data_order_bits,
            "bss_order_bits": entropy.bss_order_bits,
            "method": aslr.method(),
        },
    }


# Functions whose presence in the image means a placement is drawn at boot
# (libos/mm: mm_randomise; libos/sched's stack pool: mm_note_stack_placement).
_HEAP_RANDOMISER = "mm_randomise"
_STACK_RANDOMISER = "mm_note_stack_placement"


def _boot_randomisation(resolution: Resolution, liveness: Liveness) -> dict[str, object]:
    """What the image draws at boot: the linker knows whether, the boot knows how much.

    The counts depend on the guest's memory, so the bits are formulas here;
    the image prints the figures at boot ("[boot] randomised at boot: ...").
    """

    def live(name: str) -> bool:
        definition = resolution.definitions.get(name)
        return definition is not None and (definition.file, definition.symbol.shndx) in liveness.live

    heap = live(_HEAP_RANDOMISER)
    return {
        "heap": {
            "randomised": heap,
            "bits": "log2(E)" if heap else 0,
            "E": "usable 2 MiB extents of RAM below 4 GiB at boot (62 with 128 MiB)",
        },
        "stacks": {
            "randomised": heap and live(_STACK_RANDOMISER),
            "bits": "log2(E) + log2(P) + log2(S)" if heap and live(_STACK_RANDOMISER) else 0,
            "P": "pages where the stack pool may start inside its extents (369 for 16 stacks of 32 KiB)",
            "S": "stack slots, handed out in a random order (SCHED_STACK_POOL_COUNT, 16 by default)",
        },
        "source": (
            "boot entropy (RDRAND mixed with the time stamp counter; the TSC alone without RDRAND); "
            "printed at boot"
        ),
    }


def _gc(liveness: Liveness) -> dict[str, object]:
    return {
        # The link fails when lld's --gc-sections disagrees with mark-live,
        # so a manifest that exists says true.
        "lld_gc_agrees": True,
        "sections": len(liveness.nodes),
        "live": len(liveness.live),
        "removed": len(liveness.nodes) - len(liveness.live),
        "roots": len(liveness.roots),
    }


def _seal(found: seal.Seal) -> dict[str, object]:
    return {
        "note_name": seal.SEAL_NAME.decode(),
        "note_type": _hex(seal.SEAL_TYPE),
        "version": found.version,
        "symbol": seal.SEAL_SYMBOL,
        "regions": [
            {
                "kind": _KINDS.get(region.kind, str(region.kind)),
                "start": _hex(region.start),
                "end": _hex(region.end),
                "permissions": seal.describe_flags(region.flags),
            }
            for region in found.regions
        ],
    }


def _components(
    specs: Sequence[InputSpec], resolution: Resolution, assignments: tuple[Assignment, ...]
) -> list[dict[str, object]]:
    by_file: dict[InputFile, list[Assignment]] = {}
    for assignment in assignments:
        by_file.setdefault(assignment.file, []).append(assignment)
    usages = {usage.label: usage for usage in account(specs, assignments)}
    loaded = sorted(resolution.loaded, key=lambda f: f.origin.order)
    components = []
    for component in components_of(tuple(specs)):
        usage = usages[component.label]
        inputs = [
            _input(file, by_file.get(file, [])) for file in loaded if file.origin.spec in component.specs
        ]
        components.append(
            {
                "label": component.label,
                "size": usage.kept.total,
                "bytes": _bytes(usage),
                "inputs": inputs,
                "removed_functions": [_function(f) for f in usage.removed_functions],
            }
        )
    return components


def _bytes(usage: ComponentUsage) -> dict[str, object]:
    return {"in": usage.bytes_in.as_dict(), "kept": usage.kept.as_dict(), "removed": usage.removed.as_dict()}


def _input(file: InputFile, assignments: list[Assignment]) -> dict[str, object]:
    kept = [a for a in assignments if a.live]
    removed = [a for a in assignments if not a.live]
    return {
        "file": file.origin.spec.file_name,
        "member": file.origin.member,
        "size": sum(a.section.size for a in kept),
        "sections": [{"name": a.section.name, "output": a.output, "size": a.section.size} for a in kept],
        "removed_sections": [
            {"name": a.section.name, "group": a.group.value, "size": a.section.size} for a in removed
        ],
    }


def _function(function: Function, with_label: bool = False) -> dict[str, object]:
    record: dict[str, object] = {
        "name": function.name,
        "file": function.file,
        "section": function.section,
        "size": function.size,
    }
    if with_label:
        record["component"] = function.label
    return record


def _hex(value: int) -> str:
    return f"{value:#x}"
