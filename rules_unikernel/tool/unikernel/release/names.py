"""The fixed file names of a release bundle (kept apart so the CLI can import them without the writer)."""

SUMS = "SHA256SUMS"
SBOM = "sbom.cdx.json"
PROVENANCE = "provenance.intoto.json"
