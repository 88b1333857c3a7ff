"""verify-release: check a bundle's checksums, then rebuild it and compare byte for byte.

Each check returns data (a list of one-line problems); the command line
prints them. Nothing here trusts the bundle: members are read once into
memory, names are checked before use, and the JSON is read defensively.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..cli.elf import parse_elf
from ..cli.errors import CliError
from ..cli.page import PageImage, render_inspect
from .errors import ReleaseError
from .names import PROVENANCE, SUMS

_SEED_ID = b"rules_unikernel seed id"  # as unikernel.link.aslr derives the manifests' seed_id
_SUM_LINE = re.compile(r"([0-9a-f]{64})  (\S.*)")


@dataclass(frozen=True)
class Bundle:
    top: str
    files: dict[str, bytes]  # path below the top directory -> bytes
    raw: bytes  # the tarball itself


def read_bundle(path: Path) -> Bundle:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ReleaseError(f"{path}: cannot read the bundle: {error.strerror or error}") from None
    files: dict[str, bytes] = {}
    tops: set[str] = set()
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
            for member in tar:
                name = PurePosixPath(member.name)
                if name.is_absolute() or ".." in name.parts or not name.parts:
                    raise ReleaseError(f"{path}: member {member.name!r} escapes the bundle's directory")
                tops.add(name.parts[0])
                if member.isdir():
                    continue
                if not member.isfile():
                    raise ReleaseError(f"{path}: member {member.name!r} is not a regular file or directory")
                extracted = tar.extractfile(member)
                assert extracted is not None
                files[str(PurePosixPath(*name.parts[1:]))] = extracted.read()
    except (tarfile.TarError, EOFError) as error:
        raise ReleaseError(f"{path}: not a release bundle (a tar archive): {error}") from None
    if len(tops) != 1:
        raise ReleaseError(f"{path}: a bundle has one top directory, this one has {len(tops)}")
    return Bundle(tops.pop(), files, raw)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_sums(data: bytes) -> dict[str, str]:
    sums: dict[str, str] = {}
    for number, line in enumerate(data.decode("utf-8", errors="replace").split("\n"), start=1):
        if not line:
            continue
        match = _SUM_LINE.fullmatch(line)
        if not match or match.group(2) in sums:
            raise ReleaseError(
                f"{SUMS}: line {number} is not `<sha256>  <path>` of a new file: {SUMS} was altered"
            )
        sums[match.group(2)] = match.group(1)
    return sums


def statement(bundle: Bundle) -> dict:
    try:
        loaded = json.loads(bundle.files[PROVENANCE])
    except (KeyError, ValueError):
        raise ReleaseError(f"{PROVENANCE}: missing or not JSON") from None
    if not isinstance(loaded, dict):
        raise ReleaseError(f"{PROVENANCE}: not a JSON object")
    return loaded


def _subjects(bundle: Bundle) -> dict[str, str]:
    try:
        return {s["name"]: s["digest"]["sha256"] for s in statement(bundle)["subject"]}
    except (ReleaseError, KeyError, TypeError):
        return {}


def check_sums(bundle: Bundle) -> list[str]:
    """One line per altered, missing or unlisted file; empty when SHA256SUMS holds."""
    if SUMS not in bundle.files:
        return [f"{SUMS}: missing from the bundle"]
    try:
        sums = parse_sums(bundle.files[SUMS])
    except ReleaseError as error:
        return [error.message]
    subjects = _subjects(bundle)
    problems = []
    for name in sorted(set(sums) | set(bundle.files) - {SUMS}):
        if name not in bundle.files:
            problems.append(f"{name}: listed in {SUMS} but missing from the bundle")
        elif name not in sums:
            problems.append(f"{name}: in the bundle but not listed in {SUMS} (an added file)")
        elif (actual := _sha(bundle.files[name])) != sums[name]:
            if subjects.get(name) == actual:
                # The provenance (itself checked by SHA256SUMS) vouches for the file.
                problems.append(f"{SUMS}: its line for {name} was altered ({name} matches {PROVENANCE})")
            elif name == PROVENANCE:
                problems.append(
                    f"{name}: sha256 {actual}, {SUMS} says {sums[name]}: "
                    f"{name} or its line in {SUMS} was altered"
                )
            else:
                problems.append(f"{name}: sha256 {actual}, {SUMS} says {sums[name]}: the file was altered")
    return problems


def check_pages(bundle: Bundle) -> tuple[int, list[str]]:
    """Each image's page against the one its .elf and manifest draw: (pages that match, problems).

    SHA256SUMS says a page was not altered after the bundle was written; this
    says it is the picture of the image beside it (and that every image has one).
    """
    matched = 0
    problems = []
    for name in sorted(bundle.files):
        if not name.endswith(".elf") or name.endswith(".debug.elf"):
            continue
        stem = name.removesuffix(".elf")
        page, manifest = f"{stem}.html", f"{stem}.manifest.json"
        if page not in bundle.files:
            problems.append(f"{page}: missing; every image in a bundle has its page")
            continue
        shown = PurePosixPath(name).name
        try:
            image = parse_elf(bundle.files[name], shown)
            loaded = json.loads(bundle.files[manifest]) if manifest in bundle.files else None
        except CliError as error:
            problems.append(f"{page}: cannot draw {name}: {error.message}")
            continue
        except ValueError:
            problems.append(f"{page}: cannot draw {name}: {manifest} is not JSON")
            continue
        if render_inspect(PageImage(image, loaded, shown)) != bundle.files[page]:
            problems.append(
                f"{page}: is not the page of {name} (`unikernel inspect {shown} --html` draws another)"
            )
        else:
            matched += 1
    return matched, problems


def seed_commitments(bundle: Bundle) -> list[str]:
    try:
        seeds = statement(bundle)["predicate"]["buildDefinition"]["internalParameters"]["seeds"]
        return [str(c) for c in seeds["commitments"]]
    except (KeyError, TypeError):
        raise ReleaseError(
            f"{PROVENANCE}: records no seeds (predicate.buildDefinition.internalParameters.seeds)"
        ) from None


def commitment(secret: bytes) -> str:
    return hmac.new(secret, _SEED_ID, hashlib.sha256).hexdigest()


def check_seed(bundle: Bundle, seed_file: Path | None) -> None:
    """Raises a one-line ReleaseError unless the seed file is the one the bundle was built with."""
    expected = seed_commitments(bundle)
    if not expected:
        if seed_file is not None:
            raise ReleaseError(
                f"wrong seed: the bundle was built without a secret seed, yet {seed_file} was given; "
                "drop --seed-file"
            )
        return
    if seed_file is None:
        raise ReleaseError(
            "the bundle was built with a secret layout seed; pass the release key with --seed-file FILE"
        )
    try:
        got = commitment(seed_file.read_bytes())
    except OSError as error:
        raise ReleaseError(f"--seed-file {seed_file}: {error.strerror or error}") from None
    if got not in expected:
        raise ReleaseError(
            f"wrong seed: {seed_file} has commitment {got[:16]}..., the bundle was built with "
            f"{', '.join(c[:16] + '...' for c in expected)}; use the release's key"
        )


def compare(original: Bundle, rebuilt: Bundle) -> list[str]:
    """One line per file that differs between the bundle and its rebuild; empty when identical."""
    problems = []
    for name in sorted(set(original.files) | set(rebuilt.files)):
        if name not in rebuilt.files:
            problems.append(f"{name}: in the bundle, not in the rebuild")
        elif name not in original.files:
            problems.append(f"{name}: in the rebuild, not in the bundle")
        elif original.files[name] != rebuilt.files[name]:
            problems.append(
                f"{name}: the rebuild differs (sha256 {_sha(rebuilt.files[name])[:16]}..., "
                f"the bundle's {_sha(original.files[name])[:16]}...)"
            )
    if not problems and original.top != rebuilt.top:
        problems.append(f"the top directory differs: {rebuilt.top} rebuilt, {original.top} in the bundle")
    if not problems and original.raw != rebuilt.raw:
        problems.append("the files are identical but the tar archive's metadata differs")
    return problems


def _label_of(path: Path, checkout: Path) -> str:
    """The label of a file in the checkout (its package: the nearest directory with a BUILD file)."""
    try:
        relative = path.resolve().relative_to(checkout.resolve())
    except ValueError:
        raise ReleaseError(
            f"--seed-file {path}: must lie inside the checkout {checkout} (Bazel takes it as a label)"
        ) from None
    for package in relative.parents:
        directory = checkout / package
        if (directory / "BUILD.bazel").is_file() or (directory / "BUILD").is_file():
            pkg = "" if str(package) == "." else str(package)
            return f"//{pkg}:{relative.relative_to(package)}"
    raise ReleaseError(
        f"--seed-file {path}: no Bazel package holds it; put it in a directory with a BUILD.bazel file"
    )


def _path_of(label: str, checkout: Path) -> Path:
    match = re.fullmatch(r"//([^:]*):(.+)", label)
    if not match:
        raise ReleaseError(
            f"the bundle's seed file label {label!r} is not //package:file; pass --seed-file FILE"
        )
    return checkout / match.group(1) / match.group(2)


@dataclass(frozen=True)
class Rebuild:
    command: list[str]
    output: Path


def plan_rebuild(
    bundle: Bundle, checkout: Path, seed_file: Path | None, bazel: str
) -> tuple[Rebuild, Path | None]:
    """The recorded command with the given bazel and seed label, and the seed file to check."""
    try:
        params = statement(bundle)["predicate"]["buildDefinition"]["externalParameters"]
        command = [str(a) for a in params["command"]]
        target = str(params["target"])
        seed_label = str(params.get("aslr_seed_file", ""))
    except (KeyError, TypeError):
        raise ReleaseError(
            f"{PROVENANCE}: records no build command (predicate.buildDefinition.externalParameters)"
        ) from None
    if (
        command[:2] != ["bazel", "build"]
        or command[-1] != target
        or not re.fullmatch(r"//[A-Za-z0-9_./+-]*:[A-Za-z0-9_.+-]+", target)
    ):
        raise ReleaseError(
            f"{PROVENANCE}: the recorded command {' '.join(command)!r} is not `bazel build ... {target}`"
        )
    flag = "--//rules_unikernel:aslr_seed_file="
    if seed_label and seed_file is None:
        seed_file = _path_of(seed_label, checkout)
    elif seed_file is not None and seed_label:
        command = [f"{flag}{_label_of(seed_file, checkout)}" if a.startswith(flag) else a for a in command]
    package, name = target[2:].split(":")
    return Rebuild([bazel, *command[1:]], Path(package) / f"{name}.tar"), seed_file


def check_commit(bundle: Bundle, checkout: Path) -> str | None:
    """None if the checkout is at the recorded commit and clean; else a note (unknown commit) or an error."""
    commit = statement(bundle)["predicate"]["buildDefinition"]["externalParameters"].get("commit", "unknown")
    if commit == "unknown":
        return (
            "note: the bundle records no commit (built without --config=release); "
            "rebuilding the checkout as it is"
        )

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(checkout), *args], capture_output=True, text=True, check=False
        )
        if done.returncode:
            raise ReleaseError(
                f"{checkout}: not a git checkout ({(done.stderr.strip() or 'git failed').splitlines()[-1]})"
            )
        return done.stdout.strip()

    head = git("rev-parse", "HEAD")
    if head != commit:
        raise ReleaseError(
            f"{checkout} is at {head[:12]}, the bundle was built from {commit[:12]}; "
            f"run `git -C {checkout} checkout {commit}`"
        )
    if git("status", "--porcelain", "--untracked-files=no"):
        raise ReleaseError(
            f"{checkout} has uncommitted changes; the bundle was built from the clean commit {commit[:12]}"
        )
    return None


def rebuild(plan: Rebuild, checkout: Path) -> Bundle:
    done = subprocess.run(plan.command, cwd=checkout, capture_output=True, text=True, check=False)
    if done.returncode:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise ReleaseError(
            f"the rebuild `{' '.join(plan.command)}` failed (status {done.returncode}): {tail}"
        )
    info = subprocess.run(
        [plan.command[0], "info", *[a for a in plan.command[2:-1]], "bazel-bin"],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=False,
    )
    if info.returncode:
        raise ReleaseError(f"`bazel info bazel-bin` failed in {checkout}: {info.stderr.strip()[-200:]}")
    return read_bundle(Path(info.stdout.strip()) / plan.output)
