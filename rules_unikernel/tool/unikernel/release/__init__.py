"""unikernel.release: reproducible release bundles and their verification.

    bundle.py      the bundle: a tarball with fixed metadata, per image its files, SHA256SUMS
    sbom.py        the CycloneDX 1.5 SBOM: images, components, source files, pinned dependencies
    provenance.py  the in-toto Statement v1 with a SLSA Provenance v1 predicate
    verify.py      verify-release: checksums, then a rebuild compared byte for byte

The rule //rules_unikernel:defs.bzl%unikernel_release writes a spec (JSON)
and runs ``python -m unikernel.release --spec SPEC --output OUT.tar``.
"""

from .errors import ReleaseError

__all__ = ["ReleaseError"]
