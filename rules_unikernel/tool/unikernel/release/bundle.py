"""The release bundle: its files, decided as data, then one tarball with fixed metadata.

Layout (inside the top directory NAME/):

    <package>/<image>.elf, .debug.elf, .manifest.json, .xl.cfg, .qemu.sh, .html, and its volumes
    sbom.cdx.json              CycloneDX 1.5 (sbom.py)
    provenance.intoto.json     in-toto Statement v1, SLSA Provenance v1 (provenance.py)
    SHA256SUMS                 every other file, `sha256sum -c` format

The tarball is plain (uncompressed) ustar: entries sorted by path, mtime 0,
uid/gid 0, no user or group names, mode 0644 (0755 for launchers and
directories). Compression is left to whoever ships it, so the bytes do not
depend on a zlib version.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..cli.elf import parse_elf
from ..cli.errors import CliError
from ..cli.page import PageImage, render_inspect
from ..qemu import Machine, qemu_command
from . import provenance, sbom
from .errors import ReleaseError
from .names import PROVENANCE, SBOM, SUMS
from .spec import Image, Spec, commit_of, python_pins

_HERE = "@HERE@"
_WORK = "@WORK@"


@dataclass(frozen=True)
class Entry:
    path: str  # relative to the bundle's top directory
    data: bytes
    executable: bool = False

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise ReleaseError(f"{what}: cannot read {path}: {error.strerror or error}") from None


def launcher(image: Image) -> str:
    """A shell script that boots the image in QEMU from the bundle's directory, as `<name>.qemu` does."""
    volumes = {Path(f"{_HERE if v.read_only else _WORK}/{v.name}"): v for v in image.volumes}
    machine = Machine(
        image=Path(f"{_HERE}/{image.name}.elf"),
        cmdline=image.cmdline,
        memory_mib=image.memory_mib,
        disks=tuple(volumes),
        read_only=frozenset(p for p, v in volumes.items() if v.read_only),
    )
    command = qemu_command("qemu-system-x86_64", machine, interactive=True)
    quoted = " ".join(_sh_quote(a) for a in command)
    quoted = quoted.replace(_HERE, "'\"$here\"'").replace(_WORK, "'\"$work\"'")
    lines = [
        "#!/bin/sh",
        f"# Boots {image.name}.elf ({image.label}) in QEMU (TCG). Written by unikernel_release.",
        "# Extra arguments go to QEMU. Ctrl-a x quits. The exit status is the guest's.",
        "set -u",
        'here=$(cd "$(dirname "$0")" && pwd)',
        "work=$(mktemp -d)",
        "trap 'rm -rf \"$work\"' EXIT",
    ]
    for v in image.volumes:
        if not v.read_only:
            # The guest writes to a fresh copy, never to the bundle's file.
            lines.append(f'cp "$here/{v.name}" "$work/{v.name}" && chmod u+w "$work/{v.name}"')
    lines += [
        f'{quoted} "$@"',
        "status=$?",
        "# isa-debug-exit reports the guest's status s as 2s+1.",
        "if [ $((status % 2)) -eq 1 ]; then exit $(((status - 1) / 2)); fi",
        "exit $status",
    ]
    return "\n".join(lines) + "\n"


def picture(image: Image, elf: bytes, manifest: bytes) -> bytes:
    """The image's page, as `unikernel inspect <name>.elf --html` writes it beside the bundle's files."""
    try:
        parsed = parse_elf(elf, f"{image.name}.elf")
        loaded = json.loads(manifest)
    except CliError as error:
        raise ReleaseError(f"{image.label}: {error.message}") from None
    except ValueError as error:
        raise ReleaseError(f"{image.label}: its manifest is not JSON: {error}") from None
    return render_inspect(PageImage(parsed, loaded, f"{image.name}.elf"))


def _sh_quote(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"


def image_entries(spec: Spec) -> list[Entry]:
    entries: dict[str, Entry] = {}

    def add(entry: Entry, owner: str) -> None:
        old = entries.get(entry.path)
        if old is not None and old.data != entry.data:
            raise ReleaseError(
                f"{owner}: two different files would be {entry.path} in the bundle; rename one of them"
            )
        entries[entry.path] = entry

    for image in spec.images:
        base = PurePosixPath(image.directory)
        files = {
            f"{image.name}.elf": image.elf,
            f"{image.name}.debug.elf": image.debug_elf,
            f"{image.name}.manifest.json": image.manifest,
            f"{image.name}.xl.cfg": image.xl_cfg,
        }
        read = {name: _read(path, image.label) for name, path in files.items()}
        for name, data in read.items():
            add(Entry(str(base / name), data), image.label)
        page = picture(image, read[f"{image.name}.elf"], read[f"{image.name}.manifest.json"])
        add(Entry(str(base / f"{image.name}.html"), page), image.label)
        add(
            Entry(str(base / f"{image.name}.qemu.sh"), launcher(image).encode(), executable=True), image.label
        )
        for v in image.volumes:
            add(Entry(str(base / v.name), _read(v.path, image.label)), image.label)
    return [entries[p] for p in sorted(entries)]


def sums_text(entries: list[Entry]) -> bytes:
    return "".join(f"{e.sha256}  {e.path}\n" for e in sorted(entries, key=lambda e: e.path)).encode()


def build_entries(spec: Spec) -> list[Entry]:
    """Every file of the bundle, in order; the tarball is written from these."""
    files = image_entries(spec)
    manifests = {i.label: json.loads(_read(i.manifest, i.label)) for i in spec.images}
    pins = spec.pins + python_pins(spec.python_lock)
    sources = [(s, sha256_file(s.path)) for s in spec.sources]
    bom = sbom.build(spec, files, manifests, sources, pins)
    sbom_entry = Entry(SBOM, sbom.render(bom))
    commit = commit_of(spec.status_file)
    statement = provenance.build(spec, [*files, sbom_entry], manifests, pins, commit)
    prov_entry = Entry(PROVENANCE, provenance.render(statement))
    everything = [*files, sbom_entry, prov_entry]
    return sorted([*everything, Entry(SUMS, sums_text(everything))], key=lambda e: e.path)


def tar_bytes(top: str, entries: list[Entry]) -> bytes:
    """A ustar archive of the entries below `top/`, with every varying field fixed."""
    out = io.BytesIO()
    directories = {str(p) for e in entries for p in PurePosixPath(top, e.path).parents if str(p) != "."}
    members: list[tuple[str, Entry | None]] = [(d, None) for d in directories]
    members += [(f"{top}/{e.path}", e) for e in entries]
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for path, entry in sorted(members, key=lambda m: m[0]):
            info = tarfile.TarInfo(path)
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if entry is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.size = len(entry.data)
                info.mode = 0o755 if entry.executable else 0o644
                tar.addfile(info, io.BytesIO(entry.data))
    return out.getvalue()


def write_bundle(spec: Spec, output: Path) -> None:
    data = tar_bytes(spec.name, build_entries(spec))
    # Written whole or not at all: a failed run leaves no half bundle.
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(output)
