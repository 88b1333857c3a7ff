"""unikernel_image: link an application and its OS components into a Xen image."""

load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")
load("//rules_unikernel/toolchain:resolved_cc_toolchain.bzl", "ResolvedCcToolchainInfo")
load(":components.bzl", "check_components", "components_aspect")
load(":providers.bzl", "UnikernelImageInfo", "VolumeInfo")
load(":transition.bzl", "UNIKERNEL_PLATFORM", "unikernel_platform_transition")
load(":qemu.bzl", "MAX_VIRTIO_DEVICES", "unikernel_qemu")

# The compiler name the freestanding toolchain reports (rules_unikernel/toolchain/cc_toolchain_config.bzl).
_FREESTANDING_COMPILER = "zig-freestanding"

# The link tool and ld.lld come from this toolchain type (//rules_unikernel:BUILD.bazel).
# A string (Bazel 4.2.3's rule() takes no Label there) naming this repository
# however it is seen: main, external or a bzlmod module.
_LINK_TOOLCHAIN_TYPE = str(Label("//rules_unikernel:link_toolchain_type"))

def _check_toolchain(ctx):
    """Fails analysis unless the deps were compiled by the freestanding toolchain."""
    cc = ctx.attr._cc_toolchain[0][ResolvedCcToolchainInfo].cc

    # Without C toolchain resolution Bazel hands out an empty ToolchainInfo.
    compiler = getattr(cc, "compiler", "none: C toolchain resolution is off")
    if compiler != _FREESTANDING_COMPILER:
        fail(("%s: the C toolchain selected for %s is '%s', not rules_unikernel's " +
              "freestanding zig toolchain, so its deps would be built as host code. Fix: " +
              "add `build --incompatible_enable_cc_toolchain_resolution` to .bazelrc " +
              "(required on Bazel < 7), register rules_unikernel's toolchains " +
              "(rules_unikernel_register_toolchains() in WORKSPACE, or MODULE.bazel), and " +
              "make sure no other C toolchain registered for that platform (e.g. via " +
              "--extra_toolchains) comes before it.") %
             (ctx.label, UNIKERNEL_PLATFORM, compiler))

def _linker_inputs(deps):
    """(owner label, archive or object, alwayslink) triples of all deps, in link order."""
    linking_contexts = [dep[CcInfo].linking_context for dep in deps]
    inputs = []
    seen = {}
    for li in depset(transitive = [lc.linker_inputs for lc in linking_contexts], order = "topological").to_list():
        for lib in li.libraries:
            files = []
            if lib.static_library:
                files.append(lib.static_library)
            elif lib.pic_static_library:
                files.append(lib.pic_static_library)
            elif lib.objects:
                files.extend(lib.objects)
            for f in files:
                if f.path not in seen:
                    seen[f.path] = True
                    inputs.append((li.owner, f, lib.alwayslink))
    return inputs

def _aslr_seed(ctx):
    """The seed the linker gets and where it came from ("label" or "given").

    The build-wide setting wins over the attribute. A build-wide seed is
    combined with the image's label, so one release seed still gives every
    image its own layout; "none" is passed through as is.
    """
    build_seed = ctx.attr._aslr_seed_setting[BuildSettingInfo].value
    if build_seed == "none" or (not build_seed and ctx.attr.aslr_seed == "none"):
        return "none", "given"
    if build_seed:
        return "%s@%s" % (build_seed, ctx.label), "given"
    if ctx.attr.aslr_seed:
        return ctx.attr.aslr_seed, "given"
    return str(ctx.label), "label"

def _aslr_seed_file(ctx, seed):
    """The secret seed file, or None: the build setting wins over the attribute.

    An image whose own aslr_seed is "none" keeps the plain layout under a
    build-wide secret (its BUILD file asks for it, its manifest says so);
    every other contradiction is an error.
    """
    build_files = ctx.files._aslr_seed_file_setting
    files = build_files or ctx.files.aslr_seed_file
    if not files:
        return None
    if len(files) != 1:
        fail(("%s: --//rules_unikernel:aslr_seed_file names %d files; it must name one file whose " +
              "bytes are the secret seed.") % (ctx.label, len(files)))
    if seed != "none":
        return files[0]
    if ctx.attr._aslr_seed_setting[BuildSettingInfo].value == "none":
        fail(("%s: --//rules_unikernel:aslr_seed=none turns layout randomisation off, so the secret " +
              "seed file %s would be ignored; drop one of the two settings.") % (ctx.label, files[0].short_path))
    if not build_files:
        fail(("%s: aslr_seed = \"none\" turns layout randomisation off, so aslr_seed_file %s would be " +
              "ignored; drop one of the two attributes.") % (ctx.label, files[0].short_path))
    return None

def _check_attributes(ctx):
    window = ctx.attr.aslr_window_mib
    if window < 2 or window > 1024:
        fail("%s: aslr_window_mib = %d; it must be between 2 and 1024 (MiB)." % (ctx.label, window))
    if window > ctx.attr.memory_mib:
        fail(("%s: aslr_window_mib = %d exceeds memory_mib = %d, so the randomised image could be " +
              "placed beyond the guest's RAM; lower aslr_window_mib or raise memory_mib.") %
             (ctx.label, window, ctx.attr.memory_mib))
    if ctx.attr.aslr_padding < 0 or ctx.attr.aslr_padding % 16:
        fail("%s: aslr_padding = %d; it must be a non-negative multiple of 16." % (ctx.label, ctx.attr.aslr_padding))

_VOLUME_MODES = {"": None, "ro": True, "rw": False}

def _volumes(ctx):
    """[struct(volume, read_only)] in the order given, checked; fails naming the fix."""
    out = []
    by_image = {}
    by_name = {}
    for target, mode in ctx.attr.volumes.items():
        if mode not in _VOLUME_MODES:
            fail("%s: volumes: %s: %r is not a mode; use \"ro\" (read-only), \"rw\" (read-write) or \"\" (the volume's read_only)" %
                 (ctx.label, target.label, mode))
        info = target[VolumeInfo]
        if info.image.path in by_image:
            # An alias resolves to its actual target, so both entries name that one.
            fail("%s: volumes: %s (%s) is listed twice (again through an alias or another spelling of its label); attach it once" %
                 (ctx.label, target.label, info.image.short_path))
        if info.image.basename in by_name:
            # The Xen config names each volume by its file name, next to the image.
            fail("%s: volumes: %s and %s are both named %s; rename one of them" %
                 (ctx.label, by_name[info.image.basename], target.label, info.image.basename))
        by_image[info.image.path] = target.label
        by_name[info.image.basename] = target.label
        read_only = info.read_only if _VOLUME_MODES[mode] == None else _VOLUME_MODES[mode]
        out.append(struct(volume = info, read_only = read_only))
    if len(out) > MAX_VIRTIO_DEVICES:
        fail("%s: volumes: %d volumes; the guest's virtio drivers find at most %d devices (disks and NICs together); attach fewer" %
             (ctx.label, len(out), MAX_VIRTIO_DEVICES))
    return out

def _xl_quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

def _xl_cfg(ctx, elf, volumes):
    """The Xen domain config: PVH, the image, a vif per NIC, a disk per volume (xvda, xvdb, ...)."""
    lines = [
        "# Xen domain config of %s (generated by unikernel_image)." % ctx.label,
        "# Paths are relative to the directory `xl create` runs in: put this file,",
        "# %s and the volumes below there; copy a read-write volume to a writable" % elf.basename,
        "# file first (install -m 0644 bazel-bin/PATH/NAME.img NAME.img), never use the build output.",
        "# `type = \"pv\"` boots the same image as a 64-bit PV guest.",
        "name = %s" % _xl_quote(ctx.label.name),
        "type = \"pvh\"",
        "kernel = %s" % _xl_quote(elf.basename),
        "cmdline = %s" % _xl_quote(ctx.attr.cmdline),
        "memory = %d" % ctx.attr.memory_mib,
        "vcpus = 1",
    ]
    if ctx.attr.xen_vifs:
        lines.append("vif = [ %s ]" % ", ".join([_xl_quote(v) for v in ctx.attr.xen_vifs]))
    if volumes:
        disks = []
        for i, v in enumerate(volumes):
            disks.append(_xl_quote("format=raw, vdev=xvd%s, access=%s, target=%s" % (
                "abcdefgh"[i],
                "ro" if v.read_only else "rw",
                v.volume.image.basename,
            )))
        lines.append("disk = [ %s ]" % ", ".join(disks))
    xl_cfg = ctx.actions.declare_file(ctx.label.name + ".xl.cfg")
    ctx.actions.write(xl_cfg, "\n".join(lines) + "\n")
    return xl_cfg

def _unikernel_image_impl(ctx):
    _check_toolchain(ctx)
    _check_attributes(ctx)
    check_components(ctx.label, ctx.attr.deps)
    name = ctx.label.name
    elf = ctx.actions.declare_file(name + ".elf")
    debug_elf = ctx.actions.declare_file(name + ".debug.elf")
    manifest = ctx.actions.declare_file(name + ".manifest.json")
    link_map = ctx.actions.declare_file(name + ".map")

    volumes = _volumes(ctx)
    xl_cfg = _xl_cfg(ctx, elf, volumes)

    inputs = _linker_inputs(ctx.attr.deps)
    if not inputs:
        fail("%s: deps build no code; add the application's cc_library and the libos components it uses." % ctx.label)

    tools = ctx.toolchains[_LINK_TOOLCHAIN_TYPE].unikernel_link

    # Every value is written as --flag=value: on a line of its own, a value
    # starting with "@" (a seed, a label) could be read as a params file.
    args = ctx.actions.args()
    args.add(tools.ld, format = "--ld=%s")
    for owner, f, alwayslink in inputs:
        args.add("--input=%s=%s" % (owner, f.path))
        if alwayslink:
            # Every member is linked (e.g. objects that only register
            # themselves in a linker set such as BOOT_INIT).
            args.add(f, format = "--alwayslink=%s")
    args.add(name, format = "--guest-name=%s")
    seed, seed_origin = _aslr_seed(ctx)
    seed_file = _aslr_seed_file(ctx, seed)
    args.add(seed, format = "--seed=%s")
    args.add(seed_origin, format = "--seed-origin=%s")
    if seed_file:
        # Only the file's path is in the command line; its bytes, the
        # secret, are an input the linker reads and never writes out.
        args.add(seed_file, format = "--seed-file=%s")
    args.add(str(ctx.attr.aslr_padding), format = "--aslr-padding=%s")
    args.add(str(ctx.attr.aslr_window_mib * 1024 * 1024), format = "--aslr-window-end=%s")
    args.add(elf, format = "--output=%s")
    args.add(debug_elf, format = "--debug-output=%s")
    args.add(link_map, format = "--map=%s")
    args.add(manifest, format = "--manifest=%s")

    # All arguments in a params file: the plain process reads `@file`, a
    # persistent worker gets the file's lines in its WorkRequest.
    args.use_param_file("@%s", use_always = True)
    args.set_param_file_format("multiline")

    ctx.actions.run(
        executable = tools.linker,
        arguments = [args],
        inputs = depset(
            [f for _, f, _ in inputs] + ([seed_file] if seed_file else []),
            transitive = [tools.ld_files],
        ),
        tools = [tools.ld],
        outputs = [elf, debug_elf, manifest, link_map],
        mnemonic = "UnikernelLink",
        progress_message = "Linking unikernel image %s" % ctx.label,
        env = {"PYTHONDONTWRITEBYTECODE": "1"},
        # Run as a persistent worker under --strategy=UnikernelLink=worker
        # (docs/rules.md); any other strategy runs the same tool as a plain
        # process, with the same outputs.
        execution_requirements = {"supports-workers": "1"},
    )
    return [
        DefaultInfo(
            files = depset([elf, debug_elf, manifest, link_map, xl_cfg]),
            # So tests that list an image in `data` can read its outputs.
            runfiles = ctx.runfiles(files = [elf, debug_elf, manifest, link_map]),
        ),
        UnikernelImageInfo(
            elf = elf,
            debug_elf = debug_elf,
            manifest = manifest,
            map = link_map,
            cmdline = ctx.attr.cmdline,
            memory_mib = ctx.attr.memory_mib,
            volumes = volumes,
            xl_cfg = xl_cfg,
        ),
    ]

unikernel_image_rule = rule(
    implementation = _unikernel_image_impl,
    doc = "Links cc_library deps (the application and the libos components it picks) into a Xen PVH " +
          "unikernel image, with the link tools of the toolchain registered for " +
          "//rules_unikernel:link_toolchain_type.",
    toolchains = [_LINK_TOOLCHAIN_TYPE],
    attrs = {
        "deps": attr.label_list(
            doc = "The application's cc_library and, transitively, the OS components it uses. Built for //rules_unikernel/toolchain:xen_x86_64.",
            providers = [CcInfo],
            cfg = unikernel_platform_transition,
            aspects = [components_aspect],
        ),
        "cmdline": attr.string(
            doc = "Command line the image is booted with by `bazel run :<name>.qemu` and unikernel_test (PVH cmdline).",
        ),
        "memory_mib": attr.int(
            default = 128,
            doc = "Guest memory in MiB for QEMU runs.",
        ),
        "volumes": attr.label_keyed_string_dict(
            providers = [VolumeInfo],
            doc = "unikernel_volume targets attached as disks, in order (virtio-blk devices in QEMU, " +
                  "xvda, xvdb, ... in <name>.xl.cfg), each with its mode: \"ro\", \"rw\" or \"\" (the " +
                  "volume's read_only). The macro also takes a list (each volume's own mode).",
        ),
        "xen_vifs": attr.string_list(
            doc = "One vif per entry in <name>.xl.cfg, an xl vif spec (\"bridge=xenbr0\"). The macro's " +
                  "default: one \"bridge=xenbr0\" per qemu_nics entry.",
        ),
        "aslr_seed": attr.string(
            doc = "Compile-time ASLR seed: the same seed gives the same bytes, another seed moves every " +
                  "function and data object. Empty (default): the image's label. \"none\": the plain layout. " +
                  "Overridden for a whole build by --//rules_unikernel:aslr_seed.",
        ),
        "aslr_seed_file": attr.label(
            allow_single_file = True,
            doc = "A file whose bytes (16 to 4096) are a secret layout seed: the layout is keyed by " +
                  "them and the seed, so it cannot be rebuilt without the file, and the manifest " +
                  "records only a keyed digest. Overridden for a whole build by " +
                  "--//rules_unikernel:aslr_seed_file. With aslr_seed = \"none\" it is an error.",
        ),
        "aslr_padding": attr.int(
            default = 0,
            doc = "Random padding of 0 to this many bytes (a multiple of 16) before each function; 0 = none.",
        ),
        "aslr_window_mib": attr.int(
            default = 64,
            doc = "The randomised image lies below this many MiB of physical memory (at most 1024); " +
                  "keep it within the guest's RAM.",
        ),
        "_aslr_seed_setting": attr.label(
            default = "//rules_unikernel:aslr_seed",
            providers = [BuildSettingInfo],
        ),
        "_aslr_seed_file_setting": attr.label(
            default = "//rules_unikernel:aslr_seed_file",
            allow_files = True,
        ),
        "_cc_toolchain": attr.label(
            default = "//rules_unikernel/toolchain:resolved_cc_toolchain",
            providers = [ResolvedCcToolchainInfo],
            cfg = unikernel_platform_transition,
        ),
        "_allowlist_function_transition": attr.label(
            default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
        ),
    },
)

def unikernel_image(name, visibility = None, tags = None, testonly = None, qemu_machine = "microvm", qemu_nics = [], qemu_forward = [], volumes = {}, xen_vifs = None, **kwargs):
    """Declares `name` (the image) and `name + ".qemu"` (`bazel run` boots it in QEMU).

    Args:
      name: target name; outputs are <name>.elf, <name>.debug.elf, <name>.manifest.json, <name>.map,
        <name>.xl.cfg.
      visibility: visibility of both targets.
      tags: tags of both targets.
      testonly: testonly of both targets.
      qemu_machine: `machine` of the .qemu target.
      qemu_nics: `nics` of the .qemu target (e.g. ["user"]).
      qemu_forward: `forward` of the .qemu target (e.g. ["tcp:7"]: a host port, printed, to the guest's 7).
      volumes: unikernel_volume targets: a list (each in its own read_only mode) or a dict
        {volume: "ro" | "rw" | ""}; attached by the .qemu target, unikernel_test and <name>.xl.cfg.
      xen_vifs: the vifs of <name>.xl.cfg; default: one "bridge=xenbr0" per qemu_nics entry.
      **kwargs: attributes of unikernel_image_rule (deps, cmdline, memory_mib, aslr_*).
    """
    if type(volumes) == type([]):
        volumes = {v: "" for v in volumes}
    if xen_vifs == None:
        xen_vifs = ["bridge=xenbr0" for _ in qemu_nics]
    unikernel_image_rule(
        name = name,
        visibility = visibility,
        tags = tags,
        testonly = testonly,
        volumes = volumes,
        xen_vifs = xen_vifs,
        **kwargs
    )
    unikernel_qemu(
        name = name + ".qemu",
        image = ":" + name,
        machine = qemu_machine,
        nics = qemu_nics,
        forward = qemu_forward,
        visibility = visibility,
        tags = tags,
        testonly = testonly,
    )
