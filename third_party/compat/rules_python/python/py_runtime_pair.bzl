"""py_runtime_pair under the load path of rules_python (Bazel 4.2.3 compat)."""

load("@bazel_tools//tools/python:toolchain.bzl", _py_runtime_pair = "py_runtime_pair")

py_runtime_pair = _py_runtime_pair
