"""unikernel_release: a byte-reproducible tarball of images, SBOM, provenance and SHA256SUMS."""

load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")
load("//rules_unikernel:versions.bzl", "LITTLEFS", "LWIP", "ZIG_VERSION", "ZIG_WHEELS")
load(":providers.bzl", "UnikernelImageInfo")

_ReleaseSourcesInfo = provider(
    doc = "Source files (srcs and hdrs) of a target and everything it depends on.",
    fields = {"sources": "depset of struct(target = label string, file = File)"},
)

def _sources_aspect_impl(target, ctx):
    own = []
    for attr in ("srcs", "hdrs", "textual_hdrs"):
        for f in getattr(ctx.rule.files, attr, []):
            if f.is_source:
                own.append(struct(target = str(target.label), file = f))
    deps = [d[_ReleaseSourcesInfo].sources for d in getattr(ctx.rule.attr, "deps", []) if _ReleaseSourcesInfo in d]
    return [_ReleaseSourcesInfo(sources = depset(own, transitive = deps))]

_sources_aspect = aspect(
    implementation = _sources_aspect_impl,
    attr_aspects = ["deps"],
    doc = "Collects the source files of an image's deps, for the release's SBOM.",
)

def _repo_path(f):
    """A file's path in the bundle's terms: repository-relative, other repositories under external/."""
    short = f.short_path
    return "external/" + short[3:] if short.startswith("../") else short

def _pins():
    wheel = ZIG_WHEELS["linux-x86_64"]
    return [
        struct(name = "zig", version = ZIG_VERSION, archive = wheel.archive, sha256 = wheel.sha256, purl = "pkg:pypi/ziglang@" + ZIG_VERSION),
        struct(name = "lwip", version = LWIP.version, archive = LWIP.archive, sha256 = LWIP.sha256, purl = "pkg:deb/debian/%s@%s?arch=source" % (LWIP.debian_source, LWIP.debian_version)),
        struct(name = "littlefs", version = LITTLEFS.version, archive = LITTLEFS.archive, sha256 = LITTLEFS.sha256, purl = "pkg:pypi/%s@%s" % (LITTLEFS.package, LITTLEFS.requirement.split("==")[1])),
    ]

def _directory(label):
    return ("external/%s/%s" % (label.workspace_name, label.package) if label.workspace_name else label.package).rstrip("/")

def _unikernel_release_impl(ctx):
    if not ctx.attr.images:
        fail("%s: images is empty; list the unikernel_image targets to release, e.g. images = [\"//app:image\"]" % ctx.label)
    seen = {}
    images = []
    inputs = []
    for target in ctx.attr.images:
        info = target[UnikernelImageInfo]
        key = "%s/%s" % (_directory(target.label), target.label.name)
        if key in seen:
            fail("%s: images lists %s twice (also as %s, or through an alias); list each image once" %
                 (ctx.label, target.label, seen[key]))
        seen[key] = target.label
        images.append(struct(
            label = str(target.label),
            directory = _directory(target.label),
            name = target.label.name,
            elf = info.elf.path,
            debug_elf = info.debug_elf.path,
            manifest = info.manifest.path,
            xl_cfg = info.xl_cfg.path,
            cmdline = info.cmdline,
            memory_mib = info.memory_mib,
            volumes = [struct(path = v.volume.image.path, name = v.volume.image.basename, read_only = v.read_only) for v in info.volumes],
        ))
        inputs += [info.elf, info.debug_elf, info.manifest, info.xl_cfg] + [v.volume.image for v in info.volumes]

    sources = depset(transitive = [t[_ReleaseSourcesInfo].sources for t in ctx.attr.images]).to_list()
    by_path = {}
    for s in sources:
        by_path[(s.target, s.file.path)] = s
    source_files = [s.file for s in by_path.values()]

    seed_files = ctx.files._aslr_seed_file_setting
    spec = struct(
        release = str(ctx.label),
        name = ctx.label.name,
        images = images,
        sources = [struct(target = s.target, name = _repo_path(s.file), path = s.file.path) for s in by_path.values()],
        pins = _pins(),
        python_lock = ctx.file._python_lock.path,
        status_file = ctx.info_file.path,
        aslr_seed = ctx.attr._aslr_seed_setting[BuildSettingInfo].value,
        # Only the label: the secret's bytes never reach this action.
        aslr_seed_file = str(ctx.attr._aslr_seed_file_setting.label) if seed_files else "",
    )
    spec_file = ctx.actions.declare_file(ctx.label.name + ".release.json")
    ctx.actions.write(spec_file, json.encode(spec))

    out = ctx.actions.declare_file(ctx.label.name + ".tar")
    args = ctx.actions.args()
    args.add(spec_file, format = "--spec=%s")
    args.add(out, format = "--output=%s")
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = depset([spec_file, ctx.file._python_lock, ctx.info_file] + inputs + source_files),
        outputs = [out],
        mnemonic = "UnikernelRelease",
        progress_message = "Writing release bundle %s" % ctx.label,
        env = {"PYTHONDONTWRITEBYTECODE": "1"},
    )
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

unikernel_release = rule(
    implementation = _unikernel_release_impl,
    doc = "Writes <name>.tar, a byte-reproducible release bundle: per image its .elf, .debug.elf, " +
          ".manifest.json, .xl.cfg, a QEMU launcher (.qemu.sh) and its picture (.html, as `unikernel inspect " +
          "--html` draws it), plus SHA256SUMS, a CycloneDX 1.5 SBOM " +
          "and an in-toto/SLSA v1 provenance statement. Check it with `unikernel verify-release`.",
    attrs = {
        "images": attr.label_list(
            doc = "The unikernel_image targets to release (at least one, each once); each goes to its package's directory in the bundle.",
            providers = [UnikernelImageInfo],
            aspects = [_sources_aspect],
        ),
        "_tool": attr.label(
            default = "//rules_unikernel/tool:release",
            executable = True,
            cfg = "exec",
        ),
        "_python_lock": attr.label(
            default = "//rules_unikernel/toolchain/python:requirements_lock.txt",
            allow_single_file = True,
        ),
        "_aslr_seed_setting": attr.label(
            default = "//rules_unikernel:aslr_seed",
            providers = [BuildSettingInfo],
        ),
        "_aslr_seed_file_setting": attr.label(
            default = "//rules_unikernel:aslr_seed_file",
            allow_files = True,
        ),
    },
)
