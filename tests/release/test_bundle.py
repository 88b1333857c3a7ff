"""The release bundle of //examples/hello:image and //examples/tcp_echo:image, as built by Bazel."""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from pathlib import Path

import pytest
from unikernel.cli import main as cli_main
from unikernel.release.verify import check_sums, read_bundle

ROOT = (
    Path(os.environ["TEST_SRCDIR"]) / os.environ["TEST_WORKSPACE"]
    if "TEST_SRCDIR" in os.environ
    else Path.cwd()
)
BUNDLE = ROOT / "tests/release/examples.tar"
IMAGES = {
    "//examples/hello:image": "examples/hello",
    "//examples/tcp_echo:image": "examples/tcp_echo",
}
KINDS = ("elf", "debug.elf", "manifest.json", "xl.cfg", "qemu.sh", "html")


@pytest.fixture(scope="module")
def bundle():
    return read_bundle(BUNDLE)


def test_members_are_the_images_files_and_the_release_files(bundle) -> None:
    expected = {f"{d}/image.{k}" for d in IMAGES.values() for k in KINDS}
    expected |= {"SHA256SUMS", "sbom.cdx.json", "provenance.intoto.json"}
    assert set(bundle.files) == expected
    assert bundle.top == "examples"


def test_image_files_are_the_built_ones_byte_for_byte(bundle) -> None:
    for directory in IMAGES.values():
        for kind in ("elf", "debug.elf", "manifest.json"):
            assert (
                bundle.files[f"{directory}/image.{kind}"]
                == (ROOT / directory / f"image.{kind}").read_bytes()
            ), kind
        # The image's runfiles leave out its .xl.cfg; its text names the image beside it.
        assert (
            'kernel = "image.elf"' in bundle.files[f"{directory}/image.xl.cfg"].decode()
        )
        launcher = bundle.files[f"{directory}/image.qemu.sh"].decode()
        assert (
            launcher.startswith("#!/bin/sh\n") and "'\"$here\"'/image.elf'" in launcher
        )


def test_tar_metadata_is_fixed_and_sorted() -> None:
    with tarfile.open(BUNDLE) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == sorted(m.name for m in members)
    for m in members:
        assert (m.mtime, m.uid, m.gid, m.uname, m.gname) == (0, 0, 0, "", ""), m.name
        assert m.mode == (
            0o755 if m.isdir() or m.name.endswith(".qemu.sh") else 0o644
        ), m.name


def test_sha256sums_hold_and_the_cli_accepts_the_bundle(bundle, capsys) -> None:
    assert check_sums(bundle) == []
    lines = bundle.files["SHA256SUMS"].decode().splitlines()
    assert len(lines) == len(bundle.files) - 1
    assert cli_main(["verify-release", str(BUNDLE), "--no-rebuild"]) == 0
    out = capsys.readouterr().out
    assert "14 files match SHA256SUMS" in out
    assert "2 pages are the pictures of their images" in out


def test_each_image_has_the_page_inspect_html_draws(bundle, tmp_path, capsys) -> None:
    for directory in IMAGES.values():
        page = tmp_path / "page.html"
        assert cli_main(["inspect", str(ROOT / directory / "image.elf"), "--html", str(page)]) == 0
        assert bundle.files[f"{directory}/image.html"] == page.read_bytes()


def test_sbom_lists_every_linked_component_source_and_pin(bundle) -> None:
    bom = json.loads(bundle.files["sbom.cdx.json"])
    assert (bom["bomFormat"], bom["specVersion"]) == ("CycloneDX", "1.5")
    refs = {c["bom-ref"]: c for c in bom["components"]}
    for label, directory in IMAGES.items():
        manifest = json.loads(bundle.files[f"{directory}/image.manifest.json"])
        linked = {c["label"] for c in manifest["components"]}
        assert linked <= set(refs), sorted(linked - set(refs))
        depends = next(
            d["dependsOn"] for d in bom["dependencies"] if d["ref"] == f"image:{label}"
        )
        assert set(depends) == linked
        elf = hashlib.sha256(bundle.files[f"{directory}/image.elf"]).hexdigest()
        assert refs[f"image:{label}"]["hashes"] == [{"alg": "SHA-256", "content": elf}]
    hello = {
        f["name"]: f["hashes"][0]["content"]
        for f in refs["//examples/hello:hello"]["components"]
    }
    # (The hashes' values are checked on synthetic sources by the tool's tests.)
    assert (
        list(hello) == ["examples/hello/hello.c"]
        and len(hello["examples/hello/hello.c"]) == 64
    )
    # lwIP's sources come from its fetched archive.
    assert any(
        name.startswith("external/lwip/")
        for c in refs.values()
        for name in [f["name"] for f in c.get("components", [])]
    )
    names = {c["name"] for c in bom["components"] if "version" in c}
    assert {"zig", "lwip", "littlefs", "lief", "pytest"} <= names


def test_provenance_names_the_inputs_and_the_command(bundle) -> None:
    statement = json.loads(bundle.files["provenance.intoto.json"])
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    subjects = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    assert set(subjects) == set(bundle.files) - {"SHA256SUMS", "provenance.intoto.json"}
    for name, digest in subjects.items():
        assert hashlib.sha256(bundle.files[name]).hexdigest() == digest
    params = statement["predicate"]["buildDefinition"]["externalParameters"]
    assert params["target"] == "//tests/release:examples"
    assert params["images"] == list(IMAGES)
    assert params["command"] == [
        "bazel",
        "build",
        "--config=release",
        "//tests/release:examples",
    ]
    seeds = statement["predicate"]["buildDefinition"]["internalParameters"]["seeds"]
    assert seeds["secret_seed_used"] is False and seeds["commitments"] == []
