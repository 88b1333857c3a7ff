"""Fails unless an image's manifest shows code kept from a component.

    component_linked.py //pkg:target IMAGE_OUTPUTS...   (the image's files; its .manifest.json is used)

Guards link tests against proving nothing: a program whose references into
the component were optimised away links without it and still passes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def kept_text(manifest: Path, label: str) -> int | None:
    for c in json.loads(manifest.read_text())["components"]:
        if c.get("label") == label:
            return int(c["bytes"]["kept"]["text"])
    return None


def main(argv: list[str]) -> int:
    manifests = [Path(a) for a in argv[2:] if a.endswith(".manifest.json")]
    if len(manifests) != 1:
        print("usage: component_linked.py //pkg:target IMAGE_OUTPUTS... (with one .manifest.json)", file=sys.stderr)
        return 2
    label, manifest = argv[1], manifests[0]
    if ":" not in label:  # //pkg/name is //pkg/name:name
        label += ":" + label.rsplit("/", 1)[-1]
    text = kept_text(manifest, label)
    if not text:
        print(f"FAIL: {manifest.name} keeps no code of {label} ({'not linked' if text is None else '0 bytes of text'})")
        return 1
    print(f"{label}: {text} bytes of text kept in {manifest.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
