"""Asserts which of lwIP's functions an image keeps, from its manifest.

    specialisation.py IMAGE_OUTPUTS... [--absent PREFIX]... [--present PREFIX]...

(the image's files, as `$(rootpaths :image)` gives them; its
.manifest.json is read).

Each PREFIX is a function-name prefix (tcp_, ip6_, ...). The image's
kept functions are the `.text.<name>` input sections of every component
(docs/manifest.md: components[].inputs[].sections). --absent fails if any
kept function starts with the prefix (naming them); --present fails if
none does, so that a manifest in which nothing can be found does not pass
as "nothing kept".
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Kept:
    function: str
    component: str


def kept_functions(manifest: Path) -> list[Kept]:
    data = json.loads(manifest.read_text())
    out = []
    for component in data["components"]:
        for inp in component["inputs"]:
            for section in inp["sections"]:
                name = section["name"]
                if name.startswith(".text."):
                    out.append(Kept(name[len(".text."):], component["label"]))
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outputs", type=Path, nargs="+")
    parser.add_argument("--absent", action="append", default=[])
    parser.add_argument("--present", action="append", default=[])
    args = parser.parse_args(argv)
    manifests = [p for p in args.outputs if p.name.endswith(".manifest.json")]
    if len(manifests) != 1:
        parser.error("give an image's outputs, with exactly one *.manifest.json")
    manifest = manifests[0]
    kept = kept_functions(manifest)
    failures = 0
    for prefix in args.absent:
        found = sorted(k.function for k in kept if k.function.startswith(prefix))
        if found:
            print(f"FAIL: {manifest.name} keeps {len(found)} {prefix}* functions: {', '.join(found[:8])}")
            failures += 1
        else:
            print(f"ok: {manifest.name} keeps no {prefix}* function")
    for prefix in args.present:
        found = [k for k in kept if k.function.startswith(prefix)]
        if not found:
            print(f"FAIL: {manifest.name} keeps no {prefix}* function (expected some)")
            failures += 1
        else:
            print(f"ok: {manifest.name} keeps {len(found)} {prefix}* functions")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
