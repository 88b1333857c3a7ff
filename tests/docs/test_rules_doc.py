"""docs/rules.md against the rules themselves: every public rule's attributes
(read from rules_unikernel/private/*.bzl, not from the doc) must be exactly the
ones its section documents, in the attribute table and in the signature line,
and the provider's fields must be the ones the doc lists. A missing or stale
attribute fails the test, naming it.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(os.environ.get("TEST_SRCDIR", "")) / os.environ.get("TEST_WORKSPACE", "") if "TEST_SRCDIR" in os.environ else Path(__file__).resolve().parents[2]
PRIVATE = ROOT / "rules_unikernel" / "private"
DEFS = ROOT / "rules_unikernel" / "defs.bzl"
DOC = ROOT / "docs" / "rules.md"


@dataclass(frozen=True)
class Rule:
    name: str  # the public name in defs.bzl
    attrs: frozenset[str]  # public attributes (no leading underscore), without `name`


def _module(path: Path) -> ast.Module:
    # Starlark's syntax is a subset of Python's for everything these files use.
    return ast.parse(path.read_text(), filename=str(path))


def _dict_keys(node: ast.AST, env: dict[str, ast.AST]) -> set[str]:
    """Keys of a dict literal, dict(NAME, **{...}) or a module-level NAME."""
    if isinstance(node, ast.Name) and node.id in env:
        return _dict_keys(env[node.id], env)
    if isinstance(node, ast.Dict):
        return {k.value for k in node.keys if isinstance(k, ast.Constant)}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        keys: set[str] = set()
        for a in node.args:
            keys |= _dict_keys(a, env)
        for kw in node.keywords:
            keys |= _dict_keys(kw.value, env) if kw.arg is None else {kw.arg}
        return keys
    raise AssertionError(f"cannot read attrs from {ast.dump(node)[:80]}")


def rules_in(path: Path) -> dict[str, frozenset[str]]:
    """{variable name: public attrs} of every `X = rule(...)` in a .bzl file."""
    mod = _module(path)
    env = {t.id: n.value for n in mod.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    out = {}
    for var, value in env.items():
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "rule":
            attrs = next((kw.value for kw in value.keywords if kw.arg == "attrs"), ast.Dict(keys=[], values=[]))
            out[var] = frozenset(k for k in _dict_keys(attrs, env) if not k.startswith("_"))
    return out


def public_rules() -> list[Rule]:
    """The rules defs.bzl exports; a macro `f` that wraps `f_rule` counts as that rule."""
    exported = {}
    for node in _module(DEFS).body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and getattr(node.value.func, "id", "") == "load":
            for kw in node.value.keywords:
                exported[kw.arg] = kw.value.value
    found = {}
    for bzl in sorted(PRIVATE.glob("*.bzl")):
        found.update(rules_in(bzl))
    rules = []
    for alias, name in exported.items():
        public = alias.lstrip("_")
        for var in (name, name + "_rule"):
            if var in found:
                rules.append(Rule(public, found[var]))
                break
    return rules


def doc_sections() -> dict[str, str]:
    """{heading text: body} of docs/rules.md's level-2 sections."""
    parts = re.split(r"^## (.+)$", DOC.read_text(), flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def section_for(rule: str, sections: dict[str, str]) -> str:
    for heading, body in sections.items():
        if heading == rule or heading.endswith(f"({rule})"):
            return body
    raise AssertionError(f"docs/rules.md has no section for the public rule {rule}: add `## {rule}`")


def table_attrs(body: str) -> set[str]:
    table = re.search(r"^\| attribute \|.*?(?=^\s*$)", body, flags=re.M | re.S)
    assert table, "the section has no `| attribute | ...` table"
    return set(re.findall(r"^\| `([a-z_0-9]+)` \|", table.group(0), flags=re.M))


def signature_attrs(rule: str, body: str) -> set[str] | None:
    m = re.search(r"```starlark\n%s\((.*?)\)\n```" % re.escape(rule), body, flags=re.S)
    if not m:
        return None
    return {p.split("=")[0].strip() for p in m.group(1).replace("\n", " ").split(",") if p.strip()} - {"name"}


RULES = public_rules()


def test_the_public_rules_are_found() -> None:
    # Guards the reader itself: if it finds nothing, every other test is vacuous.
    names = {r.name for r in RULES}
    assert {"unikernel_image", "unikernel_test", "unikernel_qemu"} <= names, names


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_attribute_table_matches_the_rule(rule: Rule) -> None:
    documented = table_attrs(section_for(rule.name, doc_sections()))
    missing = sorted(rule.attrs - documented)
    stale = sorted(documented - rule.attrs)
    assert not missing, f"docs/rules.md, {rule.name}: attributes not documented: {missing}"
    assert not stale, f"docs/rules.md, {rule.name}: documented attributes the rule does not have: {stale}"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_signature_matches_the_rule(rule: Rule) -> None:
    sig = signature_attrs(rule.name, section_for(rule.name, doc_sections()))
    assert sig is not None, f"docs/rules.md, {rule.name}: the section shows no ```starlark {rule.name}(...)``` signature line"
    assert sig == set(rule.attrs), f"docs/rules.md, {rule.name}: signature lists {sorted(sig)}, the rule has {sorted(rule.attrs)}"


def test_provider_fields_match() -> None:
    mod = _module(PRIVATE / "providers.bzl")
    for node in mod.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and getattr(node.value.func, "id", "") == "provider":
            name = node.targets[0].id
            fields = next(kw.value for kw in node.value.keywords if kw.arg == "fields")
            keys = _dict_keys(fields, {}) if isinstance(fields, ast.Dict) else {e.value for e in fields.elts}
            m = re.search(r"`%s\(([^)]*)\)`" % name, DOC.read_text())
            assert m, f"docs/rules.md does not show the provider {name}(...)"
            documented = {f.strip() for f in m.group(1).split(",")}
            assert documented == keys, f"docs/rules.md: {name} lists {sorted(documented)}, providers.bzl has {sorted(keys)}"
