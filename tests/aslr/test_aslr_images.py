"""Compile-time ASLR on a real image: one seed reproduces, another moves everything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

PKG = Path("tests/aslr")


def loaded_sections(name: str) -> dict[str, tuple[int, bytes]]:
    """Section name -> (address, bytes) of code and data in the image."""
    with (PKG / f"{name}.elf").open("rb") as f:
        return {s.name: (s["sh_addr"], s.data()) for s in ELFFile(f).iter_sections()
                if s.name in (".text", ".rodata", ".data")}


def functions(name: str) -> dict[str, int]:
    """Function symbol -> address, from the debug twin."""
    with (PKG / f"{name}.debug.elf").open("rb") as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        return {s.name: s["st_value"] for s in symtab.iter_symbols()
                if s["st_info"]["type"] == "STT_FUNC" and s.name}


def data_objects(name: str) -> dict[str, tuple[str, int]]:
    """Data object symbol -> (its section, offset from that section's start), from the debug twin."""
    with (PKG / f"{name}.debug.elf").open("rb") as f:
        elf = ELFFile(f)
        sections = {i: s for i, s in enumerate(elf.iter_sections())}
        objects = {}
        for s in elf.get_section_by_name(".symtab").iter_symbols():
            index = s["st_shndx"]
            if s["st_info"]["type"] != "STT_OBJECT" or not s.name or not isinstance(index, int):
                continue
            section = sections[index]
            if section.name in (".rodata", ".data", ".bss"):
                objects[s.name] = (section.name, s["st_value"] - section["sh_addr"])
        return objects


def layout(name: str) -> dict:
    return json.loads((PKG / f"{name}.manifest.json").read_text())["layout"]


def test_same_seed_gives_identical_layout_and_code():
    # Two targets with the same seed differ only in their name, in the Xen
    # guest-name note (names of equal length, so nothing after it shifts);
    # the byte-for-byte check of whole outputs is tests/repro/check_repro.py.
    assert functions("hello_seed_a1") == functions("hello_seed_a2")
    assert loaded_sections("hello_seed_a1") == loaded_sections("hello_seed_a2")
    assert layout("hello_seed_a1") == layout("hello_seed_a2")


@pytest.mark.parametrize("other", ["hello_seed_b", "hello_plain"])
def test_other_seed_moves_every_function(other):
    a, b = functions("hello_seed_a1"), functions(other)
    assert a.keys() == b.keys()
    assert len(a) > 20, "too few functions for the test to mean anything"
    stayed = sorted(f for f in a if a[f] == b[f])
    assert stayed == []


def test_order_is_shuffled_not_just_shifted():
    a, plain = functions("hello_seed_a1"), functions("hello_plain")
    by_a = sorted(a, key=a.get)
    by_plain = sorted(plain, key=plain.get)
    assert by_a != by_plain


def test_manifest_records_seed_base_and_entropy():
    a, plain = layout("hello_seed_a1"), layout("hello_plain")
    assert a["seed"] == "seed-a"
    assert plain["seed"] == "none"
    assert int(a["base"], 0) != int(plain["base"], 0)
    assert int(a["base"], 0) % 4096 == 0
    entropy = a["entropy"]
    assert entropy["base_bits"] > 0
    assert entropy["order_bits"] > 0


def test_data_objects_move_between_seeds():
    # Offsets inside their section, so a moved base alone does not count.
    a, b, plain = data_objects("hello_seed_a1"), data_objects("hello_seed_b"), data_objects("hello_plain")
    assert a.keys() == b.keys() == plain.keys()
    assert len(a) > 20, "too few named data objects for the test to mean anything"
    for other in (b, plain):
        stayed = sorted(name for name in a if a[name] == other[name])
        assert len(stayed) < len(a) // 4, stayed
    bss = [name for name in a if a[name][0] == ".bss"]
    assert sorted(bss, key=lambda n: a[n][1]) != sorted(bss, key=lambda n: plain[n][1])
    entropy = layout("hello_seed_a1")["entropy"]
    assert entropy["rodata_order_bits"] > 0 and entropy["bss_order_bits"] > 0


OUTPUTS = ("elf", "debug.elf", "map", "manifest.json")


def test_same_secret_gives_identical_layout_and_code():
    assert functions("hello_secret_a1") == functions("hello_secret_a2")
    assert data_objects("hello_secret_a1") == data_objects("hello_secret_a2")
    assert loaded_sections("hello_secret_a1") == loaded_sections("hello_secret_a2")
    assert layout("hello_secret_a1") == layout("hello_secret_a2")


@pytest.mark.parametrize("other", ["hello_secret_b1", "hello_public_r1"])
def test_another_secret_or_none_gives_another_layout(other):
    # hello_public_r1 has the same public seed ("release") and no secret:
    # whoever knows the seed must still not get the secret layout.
    a, b = functions("hello_secret_a1"), functions(other)
    assert a.keys() == b.keys()
    assert sorted(a, key=a.get) != sorted(b, key=b.get)
    assert sum(1 for f in a if a[f] == b[f]) <= 1
    assert data_objects("hello_secret_a1") != data_objects(other)


def test_manifest_tells_secret_from_public():
    secret, other, public = layout("hello_secret_a1"), layout("hello_secret_b1"), layout("hello_public_r1")
    assert secret["seed_kind"] == "secret" and secret["seed"] == "release"
    assert len(secret["seed_id"]) == 64 and secret["seed_id"] != other["seed_id"]
    assert public["seed_kind"] == "public (given)" and "seed_id" not in public
    assert layout("hello_plain")["seed_kind"] == "none"


@pytest.mark.parametrize("key", ["secret_a.key", "secret_b.key"])
def test_the_secret_is_in_no_output(key):
    secret = (PKG / key).read_bytes()
    assert len(secret) >= 16
    forms = (secret, secret.hex().encode(), secret.hex().upper().encode())
    for image in ("hello_secret_a1", "hello_secret_b1"):
        for suffix in OUTPUTS:
            data = (PKG / f"{image}.{suffix}").read_bytes()
            assert not any(form in data for form in forms), f"{image}.{suffix}"


def test_boot_randomisation_is_reported_as_the_image_has_it():
    # hello links no memory manager and no scheduler: nothing is drawn at boot.
    boot = json.loads((PKG / "hello_seed_a1.manifest.json").read_text())["boot_randomisation"]
    assert boot["heap"]["randomised"] is False and boot["stacks"]["randomised"] is False
    assert boot["heap"]["bits"] == 0
