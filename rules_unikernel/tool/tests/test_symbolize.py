"""Naming the addresses in guest fault reports (unikernel.symbolize)."""

from unikernel.symbolize import Symbols, annotate

SYMBOLS = Symbols(starts=(0x1000, 0x1040), ends=(0x1030, 0x1080), names=("main", "boot_pvh"))


def test_name_inside_and_outside_functions():
    assert SYMBOLS.name(0x1000) == "main"
    assert SYMBOLS.name(0x1020) == "main+0x20"
    assert SYMBOLS.name(0x1030) is None  # the gap between the two
    assert SYMBOLS.name(0x0FFF) is None
    assert SYMBOLS.name(0x107F) == "boot_pvh+0x3f"


def test_only_report_lines_are_annotated():
    text = (
        "value 0x1020\n"
        "[boot] panic: CPU exception 14 (page fault) at rip 0x1020, error code 0x0, address 0x0\n"
        "[boot] backtrace: 0x1044 0x9999\n"
    )
    lines = annotate(text, SYMBOLS).split("\n")
    assert lines[0] == "value 0x1020"
    assert "rip 0x1020 <main+0x20>," in lines[1]
    assert "error code 0x0," in lines[1]  # not a code address in any function
    assert lines[2] == "[boot] backtrace: 0x1044 <boot_pvh+0x4> 0x9999"
