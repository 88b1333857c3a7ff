"""CcInfo under the load path of rules_cc (Bazel 4.2.3 compat)."""

load("//cc/private:native.bzl", "NATIVE_CC_INFO")

CcInfo = NATIVE_CC_INFO
