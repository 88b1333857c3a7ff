"""Public API of rules_unikernel. Implementations live in private/."""

load("//rules_unikernel/private:image.bzl", _unikernel_image = "unikernel_image")
load("//rules_unikernel/private:providers.bzl", _UnikernelImageInfo = "UnikernelImageInfo")
load("//rules_unikernel/private:qemu.bzl", _unikernel_qemu = "unikernel_qemu", _unikernel_test = "unikernel_test")

unikernel_image = _unikernel_image
unikernel_qemu = _unikernel_qemu
unikernel_test = _unikernel_test
UnikernelImageInfo = _UnikernelImageInfo
