"""MODULE.bazel (Bazel 7+, bzlmod) against WORKSPACE (Bazel 4.2.3), statically.

No Bazel with bzlmod can be installed on the project's machines
(docs/bazel-versions.md), so the bzlmod path is never executed here. What
can be checked without it is that the two paths declare the same things:
the same repositories, created by the same calls (whose pins come from
versions.bzl alone), the same registered toolchains, and that every
repository WORKSPACE names has a bzlmod counterpart.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = (Path(os.environ["TEST_SRCDIR"]) / os.environ["TEST_WORKSPACE"]
        if "TEST_SRCDIR" in os.environ else Path(__file__).resolve().parents[2])

# Repositories WORKSPACE defines only because Bazel 4.2.3 asks for them
# offline (docs/bazel-versions.md); Bazel 7+ brings its own.
STANDINS_4_2_3 = {"rules_java", "remote_coverage_tools"}


def parse(rel: str) -> ast.Module:
    # Starlark's syntax is a subset of Python's for everything these files use.
    return ast.parse((ROOT / rel).read_text(), filename=rel)


def calls(node: ast.AST, name: str | None = None) -> list[ast.Call]:
    found = [n for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    return [c for c in found if name is None or c.func.id == name]  # type: ignore[attr-defined]


def strings(args: list[ast.expr]) -> list[str]:
    return [a.value for a in args if isinstance(a, ast.Constant) and isinstance(a.value, str)]


def keyword(call: ast.Call, name: str) -> str | None:
    for kw in call.keywords:
        if kw.arg == name and isinstance(kw.value, ast.Constant):
            return kw.value.value
    return None


def function(mod: ast.Module, name: str) -> ast.FunctionDef:
    for n in mod.body:
        if isinstance(n, ast.FunctionDef) and n.name == name:
            return n
    raise AssertionError(f"no function {name}")


@dataclass(frozen=True)
class Declared:
    """The repository-creating calls of a function: {repository name: call}."""

    calls: dict[str, str]


def declared(fn: ast.FunctionDef, macros: ast.Module) -> Declared:
    out = {}
    for c in calls(fn):
        callee = c.func.id  # type: ignore[attr-defined]
        if not callee.endswith("_repository"):
            continue
        name = keyword(c, "name")
        if name is None:  # a macro of repositories.bzl with a default name
            d = function(macros, callee).args
            defaults = dict(zip([a.arg for a in d.args][-len(d.defaults):], d.defaults))
            name = defaults["name"].value  # type: ignore[attr-defined]
        out[name] = ast.dump(c)
    return Declared(out)


def module() -> ast.Module:
    return parse("MODULE.bazel")


def test_module_and_workspace_name_the_rule_set_alike():
    (mod,) = calls(module(), "module")
    (ws,) = calls(parse("WORKSPACE"), "workspace")
    assert keyword(mod, "name") == keyword(ws, "name") == "rules_unikernel"


def test_extension_declares_what_the_workspace_macro_declares_with_the_same_calls():
    repos = parse("rules_unikernel/repositories.bzl")
    ext = declared(function(parse("rules_unikernel/extensions.bzl"), "_toolchains_impl"), repos)
    ws = declared(function(repos, "rules_unikernel_dependencies"), repos)
    assert ext.calls.keys() == ws.calls.keys()
    for name in ws.calls:
        assert ext.calls[name] == ws.calls[name], f"@{name} is created differently in extensions.bzl and repositories.bzl"


def test_use_repo_names_every_repository_of_the_extension():
    (use,) = calls(module(), "use_repo")
    repos = parse("rules_unikernel/repositories.bzl")
    ext = declared(function(parse("rules_unikernel/extensions.bzl"), "_toolchains_impl"), repos)
    assert sorted(strings(use.args)) == sorted(ext.calls)


def test_same_toolchains_registered():
    (mod_reg,) = calls(module(), "register_toolchains")
    fn = function(parse("rules_unikernel/repositories.bzl"), "rules_unikernel_register_toolchains")
    (ws_reg,) = [c for c in ast.walk(fn) if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute)
                 and c.func.attr == "register_toolchains"]
    # WORKSPACE users see the rule set as @rules_unikernel; in MODULE.bazel
    # the module's own labels need no repository name.
    ws = [s.removeprefix("@rules_unikernel") if s.startswith("@rules_unikernel//") else s
          for s in strings(ws_reg.args)]
    assert strings(mod_reg.args) == ws


def test_every_workspace_repository_has_a_bzlmod_counterpart():
    ws = parse("WORKSPACE")
    local = {keyword(c, "name") for c in calls(ws, "local_repository")}
    repos = parse("rules_unikernel/repositories.bzl")
    from_macro = set(declared(function(repos, "rules_unikernel_dependencies"), repos).calls)
    assert calls(ws, "rules_unikernel_dependencies"), "WORKSPACE no longer calls rules_unikernel_dependencies()"
    bazel_deps = {keyword(c, "name") for c in calls(module(), "bazel_dep")}
    (use,) = calls(module(), "use_repo")
    on_bzlmod = bazel_deps | set(strings(use.args)) | STANDINS_4_2_3
    missing = (local | from_macro) - on_bzlmod
    assert not missing, f"WORKSPACE defines {sorted(missing)}, which MODULE.bazel neither depends on nor uses"
    assert not (STANDINS_4_2_3 - local), "a 4.2.3 stand-in left WORKSPACE: drop it from STANDINS_4_2_3"


def test_pins_live_only_in_versions_bzl():
    # A sha256 or an exact `==` version anywhere else would be a second pin
    # that one of the two paths could miss.
    files = ["MODULE.bazel", "WORKSPACE"] + [
        str(p.relative_to(ROOT)) for p in sorted((ROOT / "rules_unikernel").rglob("*.bzl"))]
    assert "rules_unikernel/repositories.bzl" in files and "rules_unikernel/extensions.bzl" in files
    for rel in files:
        if rel == "rules_unikernel/versions.bzl":
            continue
        text = (ROOT / rel).read_text()
        assert not re.search(r"\b[0-9a-f]{64}\b", text), f"{rel} holds a sha256: move it to versions.bzl"
        assert not re.search(r"[A-Za-z0-9_.-]+==[0-9]", text), f"{rel} pins a version: move it to versions.bzl"
    for rel in ["rules_unikernel/repositories.bzl", "rules_unikernel/private/zig_repository.bzl"]:
        assert 'load("//rules_unikernel:versions.bzl"' in (ROOT / rel).read_text(), rel
