"""What is in an image: its segments from the ELF file, its components from the manifest.

The ELF file is the authority for what gets loaded; the manifest, written by
the link from the data it used, says where the bytes came from and what
specialisation removed. The manifest grows (docs/manifest.md), and older
images have older manifests, so every part is rendered from the fields
present: a field this module does not know is still shown, plainly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .elf import ElfImage, permissions
from .render import Block, Item, Table, lines
from .seal import SEAL_NAME, SEAL_TYPE, parse_seal
from .verify import XEN_NAME

XEN_ELFNOTE_GUEST_VERSION = 7
GROUPS = ("text", "rodata", "data", "bss")
# Manifest fields with a table or line of their own; other fields are shown generically.
_TOP_KNOWN = frozenset({"format", "guest_name", "entry", "image", "layout", "gc", "seal", "segments"})
_TOP_KNOWN |= {"boot_randomisation"}
_TOP_KNOWN |= {"sections", "components", "largest_functions"}
_COMPONENT_KNOWN = frozenset({"label", "size", "bytes", "inputs", "removed_functions"})

Record = Mapping[str, object]


@dataclass(frozen=True)
class Inspection:
    image: ElfImage
    manifest: Mapping[str, object] | None = None
    manifest_name: str | None = None
    symbols: ElfImage | None = None
    """The image itself, or its debug twin, when one of them has a symbol table."""


def inspect_image(inspection: Inspection, top: int = 10) -> list[Item]:
    manifest = inspection.manifest or {}
    items: list[Item | None] = [
        _overview(inspection),
        _layout(manifest),
        _boot_randomisation(manifest),
        _segments(inspection.image),
        _seal(inspection.image),
        _components(manifest),
        *_removed(manifest),
        *_component_lists(manifest),
        _largest_functions(inspection, top),
    ]
    return [item for item in items if item is not None]


def _overview(inspection: Inspection) -> Block:
    image, manifest = inspection.image, inspection.manifest or {}
    entry = _mapping(manifest.get("entry"))
    guest = image.note(XEN_NAME, XEN_ELFNOTE_GUEST_VERSION)
    facts: list[tuple[str, object]] = [
        ("file", image.name),
        ("bytes", len(image.data)),
        ("sha256", image.sha256),
        ("build-id", image.build_id or "none"),
        ("entry", f"{image.entry:#x}" + (f" ({entry['symbol']})" if "symbol" in entry else "")),
        ("guest", guest.text() if guest else "none"),
        ("manifest", inspection.manifest_name or "none found"),
    ]
    if inspection.manifest is not None:
        facts.append(("format", manifest.get("format", "unknown")))
        facts.extend(
            (key, _text(value))
            for key, value in sorted(manifest.items())
            if key not in _TOP_KNOWN and _is_scalar(value)
        )
        gc = _mapping(manifest.get("gc"))
        if gc:
            agrees = {True: ", lld agrees", False: ", lld disagrees"}.get(gc.get("lld_gc_agrees"), "")
            facts.append(
                (
                    "gc",
                    f"{gc.get('live', '?')} of {gc.get('sections', '?')} input sections live, "
                    f"{gc.get('removed', '?')} removed{agrees}",
                )
            )
    return Block("image", lines(facts))


def _layout(manifest: Mapping[str, object]) -> Block | None:
    """The layout randomisation: the seed, where the image may go, and what it buys."""
    layout = _mapping(manifest.get("layout"))
    if not layout:
        return None
    facts: list[tuple[str, object]] = [("secrecy", _secrecy(layout))]
    facts.extend((k, _text(v)) for k, v in sorted(layout.items()) if _is_scalar(v))
    window = _mapping(layout.get("window"))
    if window:
        facts.append(("window", f"{window.get('start', '?')} - {window.get('end', '?')}"))
    entropy = _mapping(layout.get("entropy"))
    facts.extend(
        (f"entropy {key}", f"{value:.2f}" if isinstance(value, float) else value)
        for key, value in sorted(entropy.items())
        if isinstance(value, int | float)
    )
    return Block("layout", lines(facts))


def _boot_randomisation(manifest: Mapping[str, object]) -> Block | None:
    """What the image draws at boot: whether, and the formula of its bits (the figures print at boot)."""
    boot = _mapping(manifest.get("boot_randomisation"))
    if not boot:
        return None
    facts: list[tuple[str, object]] = []
    for name, value in sorted(boot.items()):
        part = _mapping(value)
        if not part:
            facts.append((name, _text(value)))
        elif part.get("randomised") is True:
            terms = "; ".join(
                f"{k} = {_text(v)}" for k, v in sorted(part.items()) if k not in ("randomised", "bits")
            )
            facts.append((name, f"{_text(part.get('bits'))} bits" + (f" ({terms})" if terms else "")))
        else:
            facts.append((name, "not randomised at boot"))
    return Block("boot randomisation", lines(facts))


def _secrecy(layout: Record) -> str:
    """Whether the layout is secret: a public seed makes the entropy figures count for little."""
    kind, seed = layout.get("seed_kind"), layout.get("seed")
    if seed == "none" or layout.get("randomised") is False:
        return "none: the plain layout, known to anyone"
    if kind == "secret":
        seed_id = _text(layout.get("seed_id"))
        return f"secret: rebuilt only with the seed file (seed id {seed_id[:16]})"
    # Manifests before seed_kind recorded only public seeds.
    kind = kind if isinstance(kind, str) else "public (recorded in the manifest)"
    return f"{kind}: anyone with the sources and this manifest's seed rebuilds the layout"


def _segments(image: ElfImage) -> Table:
    rows = tuple(
        (
            str(s.index),
            s.type,
            s.permissions,
            f"{s.offset:#x}",
            f"{s.vaddr:#x}",
            str(s.filesz),
            str(s.memsz),
            f"{s.align:#x}",
            " ".join(image.sections_in(s)),
        )
        for s in image.segments
    )
    columns = ("#", "type", "perm", "offset", "address", "file", "memory", "align", "sections")
    return Table("segments", columns, rows, right=frozenset({0, 5, 6}))


def _seal(image: ElfImage) -> Table | None:
    """The permission map inside the image, as the boot code will apply it."""
    note = image.note(SEAL_NAME, SEAL_TYPE)
    if note is None:
        return None
    try:
        seal = parse_seal(note.desc)
    except ValueError as error:
        return Table("seal", ("problem",), ((str(error),),))
    rows = tuple(
        (r.name, f"{r.start:#x}", f"{r.end:#x}", str(r.end - r.start), permissions(r.flags))
        for r in seal.regions
    )
    columns = ("region", "start", "end", "bytes", "perm")
    return Table(f"seal (version {seal.version})", columns, rows, right=frozenset({3}))


def _components(manifest: Mapping[str, object]) -> Table | None:
    components = _records(manifest.get("components"))
    if not components:
        return None
    if any(isinstance(c.get("bytes"), Mapping) for c in components):
        return _component_bytes(components)
    # Manifests before per-component accounting: the kept size only.
    extra = sorted(
        {k for c in components for k, v in c.items() if k not in _COMPONENT_KNOWN and _is_scalar(v)}
    )
    columns = ("component", "objects", "sections", *extra, "bytes")
    rows = [
        (
            _text(c.get("label", "?")),
            str(len(_records(c.get("inputs")))),
            str(sum(len(_records(i.get("sections"))) for i in _records(c.get("inputs")))),
            *(_text(c.get(key)) for key in extra),
            _text(c.get("size")),
        )
        for c in components
    ]
    total = sum(c["size"] for c in components if isinstance(c.get("size"), int))
    rows.append(("total", "", "", *("" for _ in extra), str(total)))
    return Table("components (after specialisation)", columns, tuple(rows), right=_numeric(columns))


def _component_bytes(components: list[Record]) -> Table:
    """Bytes in the link, kept and removed per component; the kept bytes by permission group."""
    columns = ("component", "objects", "in", "kept", "removed", *(f"kept {g}" for g in GROUPS))
    totals = [0] * (len(columns) - 1)
    rows = []
    for component in components:
        counts = _mapping(component.get("bytes"))
        kept = _mapping(counts.get("kept"))
        values = [
            len(_records(component.get("inputs"))),
            _mapping(counts.get("in")).get("total"),
            kept.get("total"),
            _mapping(counts.get("removed")).get("total"),
            *(kept.get(group) for group in GROUPS),
        ]
        totals = [t + v if isinstance(v, int) else t for t, v in zip(totals, values, strict=True)]
        rows.append((_text(component.get("label", "?")), *(_text(v) for v in values)))
    rows.append(("total", *(str(t) for t in totals)))
    return Table(
        "components (bytes in the link, kept after specialisation, removed)",
        columns,
        tuple(rows),
        right=frozenset(range(1, len(columns))),
    )


def _removed(manifest: Mapping[str, object]) -> list[Item]:
    """What specialisation removed, per component: functions, then other sections."""
    components = _records(manifest.get("components"))
    functions = [
        (_text(c.get("label", "?")), _text(f.get("name")), _text(f.get("file")), f.get("size"))
        for c in components
        for f in _records(c.get("removed_functions"))
    ]
    others = [
        (
            _text(c.get("label", "?")),
            _text(s.get("name")),
            _input_name(i),
            _text(s.get("group")),
            s.get("size"),
        )
        for c in components
        for i in _records(c.get("inputs"))
        for s in _records(i.get("removed_sections"))
        if s.get("group") != "text" and s.get("size")
    ]
    tables: list[Item] = []
    if functions:
        rows = tuple((*row[:3], _text(row[3])) for row in _by_component_then_size(functions))
        tables.append(
            Table("removed functions", ("component", "function", "file", "bytes"), rows, right=frozenset({3}))
        )
    elif any("removed_functions" in c for c in components):
        tables.append(Block("removed functions", ("none: every function linked is used",)))
    if others:
        rows = tuple((*row[:4], _text(row[4])) for row in _by_component_then_size(others))
        columns = ("component", "section", "file", "group", "bytes")
        tables.append(Table("removed data", columns, rows, right=frozenset({4})))
    return tables


def _by_component_then_size(rows: list[tuple]) -> list[tuple]:
    """Components in manifest order (the link order); largest first inside each."""
    order = {label: index for index, label in enumerate(dict.fromkeys(row[0] for row in rows))}
    return sorted(rows, key=lambda row: (order[row[0]], -row[-1] if isinstance(row[-1], int) else 0, row[1]))


def _component_lists(manifest: Mapping[str, object]) -> list[Table]:
    """Lists of records in components this module does not know yet, shown as they are."""
    components = _records(manifest.get("components"))
    names = sorted({k for c in components for k, v in c.items() if k not in _COMPONENT_KNOWN and _records(v)})
    tables = []
    for name in names:
        records = [(_text(c.get("label", "?")), r) for c in components for r in _records(c.get(name))]
        fields = sorted({k for _, r in records for k, v in r.items() if _is_scalar(v)})
        rows = tuple((label, *(_text(r.get(k)) for k in fields)) for label, r in records)
        columns = ("component", *fields)
        tables.append(Table(f"{name} (per component)", columns, rows, right=_numeric(columns)))
    return tables


def _largest_functions(inspection: Inspection, top: int) -> Table | None:
    """From the manifest when it lists them (with their components), else from the symbols."""
    columns = ("function", "bytes", "address", "component")
    symbols = inspection.symbols.symbols if inspection.symbols is not None else None
    # Functions first; assembly entry points are often plain labels (NOTYPE).
    ranked = sorted(symbols or (), key=lambda s: s.type != "FUNC")
    addresses = {s.name: s.value for s in reversed(ranked) if s.name and s.section not in ("UNDEF", "ABS")}
    listed = _records((inspection.manifest or {}).get("largest_functions"))
    if listed:
        rows = tuple(
            (
                _text(f.get("name")),
                _text(f.get("size")),
                f"{addresses[f['name']]:#x}" if f.get("name") in addresses else "",
                _text(f.get("component")),
            )
            for f in listed[:top]
        )
        return Table("largest functions (manifest)", columns, rows, right=frozenset({1}))
    if symbols is not None and inspection.symbols is not None:
        owners = {f".text.{name}": label for name, (_, label) in _text_sections(inspection.manifest).items()}
        functions = sorted(
            (s for s in symbols if s.type == "FUNC" and s.size), key=lambda s: (-s.size, s.name)
        )
        rows = tuple(
            (s.name, str(s.size), f"{s.value:#x}", owners.get(f".text.{s.name}", "")) for s in functions[:top]
        )
        return Table(
            f"largest functions (symbols of {inspection.symbols.name})", columns, rows, right=frozenset({1})
        )
    # A stripped image with an older manifest: with one section per function,
    # the kept .text.<name> sections are the functions.
    sizes = _text_sections(inspection.manifest)
    if not sizes:
        return None
    ranked = sorted(sizes.items(), key=lambda item: (-item[1][0], item[0]))[:top]
    rows = tuple((name, str(size), "", label) for name, (size, label) in ranked)
    return Table("largest functions (manifest sections)", columns, rows, right=frozenset({1}))


def _text_sections(manifest: Mapping[str, object] | None) -> dict[str, tuple[int, str]]:
    """Kept ``.text.<name>`` input sections: name -> (size, component)."""
    sizes: dict[str, tuple[int, str]] = {}
    for component in _records((manifest or {}).get("components")):
        label = _text(component.get("label", "?"))
        for item in _records(component.get("inputs")):
            for section in _records(item.get("sections")):
                name, size = section.get("name"), section.get("size")
                if isinstance(name, str) and name.startswith(".text.") and isinstance(size, int):
                    sizes[name.removeprefix(".text.")] = (size, label)
    return sizes


def _input_name(item: Record) -> str:
    member = item.get("member")
    return f"{item.get('file')}:{member}" if member else _text(item.get("file"))


def _numeric(columns: Sequence[str]) -> frozenset[int]:
    words = ("bytes", "size", "objects", "sections", "count")
    return frozenset(i for i, c in enumerate(columns) if any(w in c for w in words))


def _records(value: object) -> list[Record]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _mapping(value: object) -> Record:
    return value if isinstance(value, Mapping) else {}


def _is_scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def _text(value: object) -> str:
    return "" if value is None else str(value)
