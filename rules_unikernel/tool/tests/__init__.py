"""The tool's tests; a package so that tests can share helpers (relative imports)."""
