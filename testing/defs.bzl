"""Macros for the project's C tests: host unit tests and test images.

The flags come from //libos:component.bzl (defined once there).
"""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_library", "cc_test")
load("//libos:component.bzl", "COMPONENT_COPTS", "HOST_DEFINES", "SANITIZE_COPTS", "SANITIZE_LINKOPTS", "UBSAN_COPTS")
load("//rules_unikernel:defs.bzl", "unikernel_image", "unikernel_test")

def component_test(name, srcs, deps = [], copts = [], linkopts = [], sanitize = True, size = "small", **kwargs):
    """A host unit test under ASan/UBSan with the check harness (<testing/check.h>).

    Args:
      name: the test's name.
      srcs: the test's sources (and sources of the component it compiles itself).
      deps: what it tests (host-buildable components, //testing/xensim, ...).
      copts: extra compiler flags.
      linkopts: extra link flags.
      sanitize: True: ASan and UBSan; "undefined": UBSan only, for code that switches stacks
        (ASan cannot follow it; say so in the BUILD file).
      size: Bazel test size.
      **kwargs: other cc_test attributes.
    """
    if sanitize == "undefined":
        # The test's own code without ASan; the ASan runtime is still
        # linked for the harness and any host-built component it uses.
        san_copts, san_linkopts = UBSAN_COPTS, SANITIZE_LINKOPTS
    elif sanitize == True:
        san_copts, san_linkopts = SANITIZE_COPTS, SANITIZE_LINKOPTS
    else:
        fail("%s: sanitize must be True or \"undefined\"" % name)
    cc_test(
        name = name,
        size = size,
        srcs = srcs,
        copts = COMPONENT_COPTS + HOST_DEFINES + san_copts + copts,
        linkopts = san_linkopts + linkopts,
        deps = deps + ["//testing/check"],
        **kwargs
    )

def fuzz_test(
        name,
        srcs,
        deps = [],
        corpus = [],
        iterations = 5000,
        seed = 1,
        max_len = 4096,
        copts = [],
        size = "small",
        **kwargs):
    """A fuzz target: a bounded, derandomised `bazel test` and a long-run binary.

    The target's sources define `int fuzz_one(const uint8_t *data, size_t len)`
    (<testing/fuzz.h>), built with the host sanitizers, and the driver of
    //testing/fuzz mutates the seed corpus into inputs for it. Declares:

    - `<name>_fuzz_test`: the corpus as it is, then `iterations` mutants of
      seed `seed`, the same inputs on every run (a few seconds);
    - `<name>_fuzz`: the same program for `bazel run`, e.g.
      `bazel run //pkg:<name>_fuzz -- --seconds 3600 --seed 7` (failing inputs
      go to fuzz-crashes/pkg/<name>/ of the calling directory) or
      `bazel run //pkg:<name>_fuzz -- --replay FILE`.

    Args:
      name: the target's name (the stem of both targets).
      srcs: the target's sources (fuzz_one and its optional hooks).
      deps: the code under test (host-buildable components, simulators).
      corpus: files (or a filegroup) added to the seeds fuzz_seeds() generates:
        regression inputs of fixed bugs, captured messages.
      iterations: mutants the test runs.
      seed: the test's seed.
      max_len: the longest input the mutator makes.
      copts: extra compiler flags.
      size: the test's size.
      **kwargs: other cc_test attributes.
    """
    cc_library(
        name = name + "_fuzz_target",
        testonly = True,
        srcs = srcs,
        copts = COMPONENT_COPTS + HOST_DEFINES + SANITIZE_COPTS + copts,
        linkopts = SANITIZE_LINKOPTS,
        deps = deps + ["//testing/fuzz"],
        alwayslink = True,
    )
    corpus_args = ["$(rootpath %s)" % c for c in corpus] if corpus else []
    label = "//%s:%s_fuzz" % (native.package_name(), name)
    common = ["--name", "%s:%s" % (native.package_name(), name), "--label", label, "--max-len", str(max_len)]
    cc_binary(
        name = name + "_fuzz",
        testonly = True,
        args = common + corpus_args,
        data = corpus,
        # Linked as the test is (shared libraries of the deps): the same
        # program, and the link order of static archives cannot drop a
        # symbol one library needs from another.
        linkstatic = False,
        linkopts = SANITIZE_LINKOPTS,
        deps = [":" + name + "_fuzz_target"],
    )
    cc_test(
        name = name + "_fuzz_test",
        size = size,
        args = common + ["--seed", str(seed), "--iterations", str(iterations)] + corpus_args,
        data = corpus,
        linkopts = SANITIZE_LINKOPTS,
        deps = [":" + name + "_fuzz_target"],
        **kwargs
    )

def test_image(name, srcs, deps, copts = [], lib_kwargs = {}, **kwargs):
    """A test program built into an image: `<name>_lib` (its code) and `<name>` (the image).

    Args:
      name: the image's name; unikernel_test targets boot it.
      srcs: the test program's sources.
      deps: the components it uses and the ones the image links (boot, allocator, policy, ...).
      copts: extra compiler flags of the test program.
      lib_kwargs: other cc_library attributes of the test program.
      **kwargs: unikernel_image attributes (cmdline, memory_mib, aslr_*).
    """
    cc_library(
        name = name + "_lib",
        testonly = True,
        srcs = srcs,
        copts = copts,
        deps = deps,
        target_compatible_with = ["//rules_unikernel/toolchain:unikernel"],
        **lib_kwargs
    )
    unikernel_image(
        name = name,
        testonly = True,
        deps = [":" + name + "_lib"],
        **kwargs
    )

def driver_link_test(name, driver, message, deps = []):
    """A Xen driver built by the image toolchain, linked into an image and booted in QEMU (not Xen).

    The program (link_image.c beside the test) references every public function of the
    driver, so the link proves they all resolve in an image, and must report that Xen is
    absent. Declares `<name>_image` and the test `<name>`.

    Args:
      name: the test's name.
      driver: the driver's label.
      message: the line the program must print (matched whole).
      deps: what else the image links (an allocator, for drivers that allocate).

    A second test, `<name>_linked`, fails unless the image's manifest shows
    code of the driver kept (a program whose references were optimised away
    would otherwise pass without linking the driver at all).
    """
    test_image(
        name = name + "_image",
        srcs = ["link_image.c"],
        deps = [
            driver,
            "//libos/boot",
            "//libos/libc",
            "//libos/xen/hypervisor:absent",
        ] + deps,
    )
    unikernel_test(
        name = name,
        exit_code = 0,
        expect = ["^%s$" % message.replace("(", "\\(").replace(")", "\\)")],
        image = ":" + name + "_image",
    )
    native.sh_test(
        name = name + "_linked",
        size = "small",
        srcs = [Label("//testing:component_linked_test.sh")],
        args = [
            "$(rootpath //testing:component_linked)",
            driver,
            "$(rootpaths :%s_image)" % name,
        ],
        data = [
            "//testing:component_linked",
            ":%s_image" % name,
        ],
    )

def image_size_test(name, image, max_bytes, **kwargs):
    """Fails when the stripped image grows past a ceiling, so a size win cannot silently regress.

    Args:
      name: the test's name.
      image: a unikernel_image target.
      max_bytes: the ceiling for `<image>.elf`, in bytes. Raising it takes an edit
        of the BUILD file, and the commit says why.
      **kwargs: other sh_test attributes (tags, ...).

    On failure the message gives the size, the excess and the largest components
    (bytes kept in the file, from the image's link manifest).
    """
    native.sh_test(
        name = name,
        size = "small",
        srcs = [Label("//testing:component_linked_test.sh")],
        args = [
            "$(rootpath %s)" % Label("//testing:image_size"),
            "--max-bytes=%d" % max_bytes,
            "--label=" + ("//%s%s" % (native.package_name(), image) if image.startswith(":") else image),
            "$(rootpaths %s)" % image,
        ],
        data = [
            Label("//testing:image_size"),
            image,
        ],
        **kwargs
    )
