"""pytest_test: a py_test that runs pytest on its sources."""

load("@rules_python//python:defs.bzl", "py_test")

def pytest_test(name, srcs, deps = [], args = [], **kwargs):
    """Runs pytest on `srcs` with the project's locked Python packages.

    Args:
      name: test name.
      srcs: test_*.py files (and conftest.py).
      deps: py_library deps.
      args: extra pytest arguments.
      **kwargs: passed to py_test (data, env, size, tags, ...).
    """
    main = Label("//tools/pytest_rule:pytest_main.py")
    py_test(
        name = name,
        srcs = srcs + [main],
        main = main,
        args = ["$(rootpath %s)" % s for s in srcs if s.endswith(".py") and s.split("/")[-1].startswith("test_")] + args,
        deps = deps + [Label("@rules_unikernel_python//:packages")],
        python_version = "PY3",
        **kwargs
    )
