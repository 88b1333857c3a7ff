"""Booting images in QEMU: `bazel run :<image>.qemu` and unikernel_test."""

load(":providers.bzl", "UnikernelImageInfo")

def _sh_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"

# Bazel runs tests and `bazel run` targets from the runfiles directory of the
# main repository, so runfiles short paths work relative to the working
# directory (and "../repo/..." for other repositories).
_LAUNCHER = """#!/bin/sh
exec {runner} {args} "$@"
"""

# The guest's virtio drivers find at most this many devices (VIRTIO_MAX_DEVICES,
# drivers/virtio/transport.h); QEMU's microvm has as many virtio-mmio slots.
MAX_VIRTIO_DEVICES = 8

def _launcher(ctx, image_info, extra_args):
    # The image's volumes come first (the guest's first disks), then extra_args' --disk.
    volume_args = []
    for v in image_info.volumes:
        volume_args.extend(["--volume", "%s:%s" % ("ro" if v.read_only else "rw", v.volume.image.short_path)])
    args = [
        "--image",
        image_info.elf.short_path,
        "--cmdline",
        image_info.cmdline,
        "--memory-mib",
        str(image_info.memory_mib),
    ] + volume_args + extra_args
    launcher = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.write(
        launcher,
        _LAUNCHER.format(
            runner = _sh_quote(ctx.executable._runner.short_path),
            args = " ".join([_sh_quote(a) for a in args]),
        ),
        is_executable = True,
    )
    runfiles = ctx.runfiles(
        files = [image_info.elf, image_info.manifest, image_info.debug_elf] + [v.volume.image for v in image_info.volumes],
    ).merge(ctx.attr._runner[DefaultInfo].default_runfiles)
    return DefaultInfo(executable = launcher, runfiles = runfiles)

_RUNNER_ATTRS = {
    "image": attr.label(
        mandatory = True,
        providers = [UnikernelImageInfo],
        doc = "A unikernel_image target.",
    ),
    "machine": attr.string(
        default = "microvm",
        doc = "The QEMU machine: `microvm` (virtio-mmio devices), `pc` or `q35` (PCI: virtio-pci devices).",
    ),
    "nics": attr.string_list(
        doc = "One virtio-net NIC per entry, on the machine's virtio transport; `\"user\"`: QEMU user networking (guest 10.0.2.15, gateway and DHCP server 10.0.2.2); `\"tap:IFNAME\"`: the host's tap device IFNAME (`bazel run ... -- --tap IFNAME` swaps the first NIC for one at run time).",
    ),
    "_runner": attr.label(
        default = "//rules_unikernel/tool:qemu",
        executable = True,
        cfg = "exec",
    ),
}

_MACHINES = ["microvm", "pc", "q35"]
_TAP_NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"

def _is_nic_kind(nic):
    """"user", or "tap:IFNAME" with a Linux interface name (as the runner checks)."""
    if nic == "user":
        return True
    name = nic[len("tap:"):] if nic.startswith("tap:") else ""
    return len(name) > 0 and len(name) <= 15 and all([c in _TAP_NAME_CHARS for c in name.elems()])

def _check_devices(ctx, disks = []):
    """Fails analysis, naming the fix, for an unknown machine or NIC kind, or too many devices."""
    if ctx.attr.machine not in _MACHINES:
        fail("%s: machine = %r is not supported; use one of %s" % (ctx.label, ctx.attr.machine, ", ".join(_MACHINES)))
    for nic in ctx.attr.nics:
        if not _is_nic_kind(nic):
            fail("%s: nics: %r is not a NIC kind; use \"user\" (QEMU user networking) or \"tap:IFNAME\" (a host tap device, 1 to 15 letters, digits, '_', '.', '-')" % (ctx.label, nic))
    volumes = len(ctx.attr.image[UnikernelImageInfo].volumes)
    devices = len(ctx.attr.nics) + volumes + len(disks)
    if devices > MAX_VIRTIO_DEVICES:
        fail(("%s: %d virtio devices (%d NICs, %d volumes of %s, %d disks); the guest's virtio drivers find " +
              "at most %d on machine %r; attach fewer") %
             (ctx.label, devices, len(ctx.attr.nics), volumes, ctx.attr.image.label, len(disks), MAX_VIRTIO_DEVICES, ctx.attr.machine))

def _unikernel_qemu_impl(ctx):
    _check_devices(ctx)
    args = ["--interactive", "--machine", ctx.attr.machine]
    for nic in ctx.attr.nics:
        args.extend(["--nic", nic])
    for forward in ctx.attr.forward:
        args.extend(["--forward", forward])
    return [_launcher(ctx, ctx.attr.image[UnikernelImageInfo], args)]

unikernel_qemu = rule(
    implementation = _unikernel_qemu_impl,
    doc = "`bazel run` target that boots an image in QEMU with the serial console on the terminal; exits with the guest's status. Extra arguments after `--` go to the runner (e.g. `-- --cmdline 'a b'`).",
    attrs = dict(_RUNNER_ATTRS, **{
        "forward": attr.string_list(
            doc = "Ports of 127.0.0.1 forwarded to the guest through the first (user) NIC: \"tcp:7\" " +
                  "(a free host port, printed when QEMU starts) or \"tcp:8080:80\"; \"udp:53\" and \"tcp:53\" " +
                  "together get one host port.",
        ),
    }),
    executable = True,
)

_SIZE_UNITS = {"": 1, "K": 1024, "M": 1024 * 1024, "G": 1024 * 1024 * 1024}

def _disk_bytes(size):
    """Bytes of a disk size ("1M", "64K", "4096"), or None if it is not one."""
    unit = size[-1:].upper() if size[-1:].upper() in ["K", "M", "G"] else ""
    number = size[:len(size) - len(unit)]
    if not number or not number.isdigit():
        return None
    return int(number) * _SIZE_UNITS[unit]

def _unikernel_test_impl(ctx):
    image_info = ctx.attr.image[UnikernelImageInfo]
    _check_devices(ctx, ctx.attr.disks)
    for size in ctx.attr.disks:
        n = _disk_bytes(size)
        if n == None or n == 0 or n % 512 != 0 or n > _SIZE_UNITS["G"]:
            fail("%s: disks: %r is not a disk size; write a positive multiple of 512 bytes up to 1G, as bytes or with K, M or G (e.g. \"1M\")" % (ctx.label, size))
    args = [
        "--timeout",
        str(ctx.attr.timeout_seconds),
        "--exit-code",
        str(ctx.attr.exit_code),
        "--verify-manifest",
        image_info.manifest.short_path,
        "--symbols",
        image_info.debug_elf.short_path,
    ]
    for e in ctx.attr.expect:
        args.extend(["--expect", e])
    for e in ctx.attr.reject:
        args.extend(["--reject", e])
    if ctx.attr.cmdline:
        args.extend(["--cmdline", ctx.attr.cmdline])
    args.extend(["--machine", ctx.attr.machine])
    if ctx.attr.cpu:
        args.extend(["--cpu", ctx.attr.cpu])
    for nic in ctx.attr.nics:
        args.extend(["--nic", nic])
    for size in ctx.attr.disks:
        args.extend(["--disk", size])
    return [_launcher(ctx, image_info, args)]

unikernel_test = rule(
    implementation = _unikernel_test_impl,
    doc = "Checks an image with `unikernel verify` (W^X, notes, seal, manifest), boots it in QEMU (TCG) and checks its console output and exit status.",
    attrs = dict(_RUNNER_ATTRS, **{
        "expect": attr.string_list(
            doc = "Regular expressions (Python `re`) that must each match the console output.",
        ),
        "reject": attr.string_list(
            doc = "Regular expressions that must not match the console output.",
        ),
        "exit_code": attr.int(
            default = 0,
            doc = "The exit status the guest must report (main's return value or exit()).",
        ),
        "cmdline": attr.string(
            doc = "Overrides the image's cmdline for this test.",
        ),
        "cpu": attr.string(
            doc = "QEMU's `-cpu` value, a CPU model and feature flags (`qemu64,-nx`: no execute-disable; `max`: every feature TCG emulates, RDRAND among them); empty: QEMU's default model.",
        ),
        "disks": attr.string_list(
            doc = "One virtio-blk disk per entry, after the image's volumes, on the machine's virtio transport: a fresh zero-filled raw image of that size (`\"1M\"`, `\"64K\"`, bytes; a multiple of 512, at most 1G) created for each run and deleted after it. To check a disk's bytes after the run, run the runner with `--keep-disks DIR` (docs/storage.md).",
        ),
        "timeout_seconds": attr.int(
            default = 60,
            doc = "Wall-clock limit for one boot; the test fails with the output so far when it is exceeded.",
        ),
    }),
    test = True,
)
