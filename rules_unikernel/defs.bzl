"""Public API of rules_unikernel. Implementations live in private/."""

load("//rules_unikernel/private:content.bzl", _unikernel_content = "unikernel_content")
load("//rules_unikernel/private:image.bzl", _unikernel_image = "unikernel_image")
load("//rules_unikernel/private:link_toolchain.bzl", _unikernel_link_toolchain = "unikernel_link_toolchain")
load(
    "//rules_unikernel/private:providers.bzl",
    _UnikernelImageInfo = "UnikernelImageInfo",
    _UnikernelLinkToolchainInfo = "UnikernelLinkToolchainInfo",
    _VolumeInfo = "VolumeInfo",
)
load("//rules_unikernel/private:release.bzl", _unikernel_release = "unikernel_release")
load("//rules_unikernel/private:qemu.bzl", _unikernel_qemu = "unikernel_qemu", _unikernel_test = "unikernel_test")
load("//rules_unikernel/private:volume.bzl", _unikernel_volume = "unikernel_volume")

unikernel_content = _unikernel_content
unikernel_image = _unikernel_image
unikernel_link_toolchain = _unikernel_link_toolchain
unikernel_qemu = _unikernel_qemu
unikernel_release = _unikernel_release
unikernel_test = _unikernel_test
unikernel_volume = _unikernel_volume
UnikernelImageInfo = _UnikernelImageInfo
UnikernelLinkToolchainInfo = _UnikernelLinkToolchainInfo
VolumeInfo = _VolumeInfo
