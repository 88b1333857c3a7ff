"""dns_zone: a zone file compiled at build time into the C tables of <dns/zone.h>.

The zone compiler (zonec/, Python) reads the file in master-file syntax,
validates it (errors name file:line and the fix) and precomputes every
response in wire form; the result is a C library linked into the image,
defining `dns_zone`. README.md describes the syntax and the design.
"""

load("//libos:component.bzl", "component")

def _zone_c_impl(ctx):
    out = ctx.actions.declare_file(ctx.label.name + ".c")
    args = ctx.actions.args()
    args.add(ctx.file.src)
    args.add("--origin", ctx.attr.origin)
    args.add("--out", out)
    args.add("--name", ctx.file.src.short_path)
    ctx.actions.run(
        executable = ctx.executable._zonec,
        arguments = [args],
        inputs = [ctx.file.src],
        outputs = [out],
        mnemonic = "DnsZone",
        progress_message = "Compiling DNS zone %s" % ctx.file.src.short_path,
    )
    return [DefaultInfo(files = depset([out]))]

_zone_c = rule(
    implementation = _zone_c_impl,
    doc = "Runs the zone compiler: `<name>.c`, the zone's tables.",
    attrs = {
        "origin": attr.string(mandatory = True, doc = "The zone's apex, absolute (`example.test.`)."),
        "src": attr.label(mandatory = True, allow_single_file = True, doc = "The zone file."),
        "_zonec": attr.label(default = "//examples/dns/zonec", executable = True, cfg = "exec"),
    },
)

def dns_zone(name, src, origin, visibility = None, **kwargs):
    """A zone served by examples/dns: a C library defining `dns_zone` (<dns/zone.h>).

    Args:
      name: the library's name; link it into the image (one zone per image).
      src: the zone file, master-file syntax (RFC 1035 5): $ORIGIN, $TTL, @, relative names,
        parentheses, comments, quoted strings; class IN; A, AAAA, CNAME, MX, NS, SOA, TXT, SRV.
      origin: the zone's apex, an absolute name ending in "." (the initial $ORIGIN too).
      visibility: of the library.
      **kwargs: other cc_library attributes (testonly, tags).
    """
    if not origin.endswith("."):
        fail("%s: origin %r must be absolute: write %r" % (name, origin, origin + "."))
    _zone_c(name = name + "_c", src = src, origin = origin, visibility = ["//visibility:private"], **kwargs)
    component(
        name = name,
        srcs = [":" + name + "_c"],
        hdrs = [],
        deps = [Label("//examples/dns:zone_headers")],
        visibility = visibility or ["//visibility:private"],
        **kwargs
    )
