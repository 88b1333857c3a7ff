"""The bundle's provenance: an in-toto Statement v1 whose predicate is SLSA Provenance v1.

subject: every file of the bundle but SHA256SUMS and the statement itself
(SHA256SUMS covers the statement; a cycle is impossible). The build is
described by what `verify-release` needs to repeat it: the release target,
the images, the commit, and the exact `bazel build` command. A secret layout
seed is recorded as used, with its commitment (the manifests' `seed_id`,
HMAC-SHA256(secret, "rules_unikernel seed id")), never its bytes.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .bundle import Entry
    from .spec import Pin, Spec

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "urn:rules_unikernel:unikernel_release:v1"
BUILDER_ID = "urn:rules_unikernel:bazel"
COMMITMENT_SCHEME = "hex(HMAC-SHA256(secret, 'rules_unikernel seed id')), the manifests' layout.seed_id"


def build_command(spec: Spec) -> list[str]:
    command = ["bazel", "build", "--config=release"]
    if spec.aslr_seed:
        command.append(f"--//rules_unikernel:aslr_seed={spec.aslr_seed}")
    if spec.aslr_seed_file:
        command.append(f"--//rules_unikernel:aslr_seed_file={spec.aslr_seed_file}")
    return [*command, spec.release]


def seeds(manifests: dict[str, dict]) -> dict[str, object]:
    per_image = {}
    commitments = set()
    for label, manifest in sorted(manifests.items()):
        layout = manifest.get("layout", {})
        record = {"seed_kind": layout.get("seed_kind", "")}
        if layout.get("seed_id"):
            record["commitment"] = layout["seed_id"]
            commitments.add(layout["seed_id"])
        per_image[label] = record
    return {
        "secret_seed_used": bool(commitments),
        "commitments": sorted(commitments),
        "commitment_scheme": COMMITMENT_SCHEME,
        "images": per_image,
    }


def build(
    spec: Spec, subjects: list[Entry], manifests: dict[str, dict], pins: tuple[Pin, ...], commit: str
) -> dict[str, object]:
    dependencies: list[dict[str, object]] = [
        {"name": "source", "uri": "git+checkout", "digest": {"gitCommit": commit}}
        if commit != "unknown"
        else {"name": "source", "annotations": {"commit": "unknown: built without --config=release"}}
    ]
    for pin in pins:
        hashes = [h for h in pin.sha256.split(",") if h]
        dependencies.append(
            {
                "name": pin.archive,
                "uri": pin.purl,
                "digest": {"sha256": hashes[0]},
                **({"annotations": {"other_sha256": hashes[1:]}} if len(hashes) > 1 else {}),
            }
        )
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": e.path, "digest": {"sha256": e.sha256}} for e in sorted(subjects, key=lambda e: e.path)
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "target": spec.release,
                    "images": [i.label for i in spec.images],
                    "commit": commit,
                    "command": build_command(spec),
                    "aslr_seed": spec.aslr_seed,
                    "aslr_seed_file": spec.aslr_seed_file,
                },
                "internalParameters": {"seeds": seeds(manifests)},
                "resolvedDependencies": dependencies,
            },
            "runDetails": {"builder": {"id": BUILDER_ID}},
        },
    }


def render(statement: dict[str, object]) -> bytes:
    return (json.dumps(statement, indent=2, ensure_ascii=True) + "\n").encode()
