"""Analysis tests: the freestanding toolchain's flags and the image rule's validation."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")
load("//rules_unikernel/private:transition.bzl", "unikernel_platform_transition")
load("//rules_unikernel/toolchain:cc_toolchain_config.bzl", "FREESTANDING_COPTS", "REPRODUCIBLE_COPTS", "STACK_PROTECTOR_COPTS")
load("//rules_unikernel/toolchain:resolved_cc_toolchain.bzl", "ResolvedCcToolchainInfo")

CompileCommandInfo = provider(fields = {"argv": "list of string: a C compile command line"})

def _compile_command_impl(ctx):
    cc = ctx.attr._cc_toolchain[0][ResolvedCcToolchainInfo].cc
    features = cc_common.configure_features(ctx = ctx, cc_toolchain = cc)
    variables = cc_common.create_compile_variables(
        cc_toolchain = cc,
        feature_configuration = features,
        source_file = "sample.c",
        output_file = "sample.o",
    )
    tool = cc_common.get_tool_for_action(feature_configuration = features, action_name = "c-compile")
    return [CompileCommandInfo(argv = [tool] + cc_common.get_memory_inefficient_command_line(
        feature_configuration = features,
        action_name = "c-compile",
        variables = variables,
    ))]

def _identity_impl(_settings, _attr):
    return {}

_no_transition = transition(implementation = _identity_impl, inputs = [], outputs = [])

def _compile_command_rule(cfg):
    return rule(
        implementation = _compile_command_impl,
        doc = "The C compile command line Bazel builds from the C toolchain resolved for `cfg`.",
        attrs = {
            "_cc_toolchain": attr.label(default = "//rules_unikernel/toolchain:resolved_cc_toolchain", cfg = cfg),
            "_allowlist_function_transition": attr.label(
                default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
            ),
        },
        fragments = ["cpp"],
    )

# The command line of C code inside an image, and of host C code.
unikernel_compile_command = _compile_command_rule(unikernel_platform_transition)
host_compile_command = _compile_command_rule(_no_transition)

def _argv(env):
    target = analysistest.target_under_test(env)
    return target[CompileCommandInfo].argv

def _freestanding_flags_test_impl(ctx):
    env = analysistest.begin(ctx)
    argv = _argv(env)
    asserts.true(env, argv and argv[0].endswith("zig-cc"), "compiled by %s, not zig cc" % (argv[0] if argv else None))
    for flag in FREESTANDING_COPTS + REPRODUCIBLE_COPTS:
        asserts.true(env, flag in argv, "missing %s in %s" % (flag, argv))
    for flag in ["-fPIC", "-fpic", "-fno-stack-protector", "-DNDEBUG"]:
        asserts.false(env, flag in argv, "unexpected %s in %s" % (flag, argv))
    joined = " ".join(argv)
    asserts.true(env, " ".join(STACK_PROTECTOR_COPTS) in joined, "no strong stack protector in %s" % joined)
    return analysistest.end(env)

freestanding_flags_test = analysistest.make(_freestanding_flags_test_impl)

def _host_flags_test_impl(ctx):
    env = analysistest.begin(ctx)
    argv = _argv(env)
    asserts.true(env, len(argv) > 1, "no host compile command line")
    asserts.false(env, "x86_64-freestanding-none" in argv, "a host build used the freestanding toolchain: %s" % argv)
    return analysistest.end(env)

host_flags_test = analysistest.make(_host_flags_test_impl)

def _mistargeted_image_test_impl(ctx):
    env = analysistest.begin(ctx)
    asserts.expect_failure(env, "not rules_unikernel's freestanding zig toolchain")
    asserts.expect_failure(env, "--incompatible_enable_cc_toolchain_resolution")
    asserts.expect_failure(env, "'gcc'")
    return analysistest.end(env)

# Another C toolchain registered for the unikernel platform ahead of ours
# (or, on Bazel < 7, no cc toolchain resolution at all) would compile the deps
# as host code; the image rule must refuse with the fix.
mistargeted_image_test = analysistest.make(
    _mistargeted_image_test_impl,
    expect_failure = True,
    config_settings = {"//command_line_option:extra_toolchains": str(Label("//tests/analysis:host_like_toolchain"))},
)

def _host_like_config_impl(ctx):
    return cc_common.create_cc_toolchain_config_info(
        ctx = ctx,
        toolchain_identifier = "host_like",
        host_system_name = "x86_64-unknown-linux",
        target_system_name = "x86_64-unknown-linux",
        target_cpu = "x86_64",
        target_libc = "glibc",
        compiler = "gcc",
        abi_version = "local",
        abi_libc_version = "local",
    )

host_like_cc_toolchain_config = rule(
    implementation = _host_like_config_impl,
    provides = [CcToolchainConfigInfo],
)

def _link_argv(env):
    actions = [a for a in analysistest.target_actions(env) if a.mnemonic == "UnikernelLink"]
    asserts.equals(env, 1, len(actions), "expected one UnikernelLink action")
    return actions[0].argv if actions else []

def _flag_value(argv, flag):
    """The value of `flag=value` in argv (the link action writes every flag this way)."""
    for a in argv:
        if a.startswith(flag + "="):
            return a[len(flag) + 1:]
    return None

def _seed_test_impl(ctx):
    env = analysistest.begin(ctx)
    want = ctx.attr.expected.replace("{label}", str(analysistest.target_under_test(env).label))
    asserts.equals(env, want, _flag_value(_link_argv(env), "--seed"))
    return analysistest.end(env)

_SEED_ATTRS = {"expected": attr.string(doc = "the --seed value; {label} stands for the image's label")}

# Without a build-wide seed, an image is laid out from its own label.
seed_default_test = analysistest.make(_seed_test_impl, attrs = _SEED_ATTRS)

# A release seed applies to every image, combined with each image's label.
seed_release_test = analysistest.make(
    _seed_test_impl,
    attrs = _SEED_ATTRS,
    config_settings = {str(Label("//rules_unikernel:aslr_seed")): "rel-1"},
)

# "none" for the whole build gives every image the plain layout.
seed_none_test = analysistest.make(
    _seed_test_impl,
    attrs = _SEED_ATTRS,
    config_settings = {str(Label("//rules_unikernel:aslr_seed")): "none"},
)

def _link_action_test_impl(ctx):
    env = analysistest.begin(ctx)
    actions = [a for a in analysistest.target_actions(env) if a.mnemonic == "UnikernelLink"]
    asserts.equals(env, 1, len(actions), "expected one UnikernelLink action")
    if actions:
        action = actions[0]
        argv = action.argv
        asserts.true(
            env,
            argv[0].endswith(ctx.attr.linker),
            "the link ran %s, not the toolchain's linker %s" % (argv[0], ctx.attr.linker),
        )
        # Bazel reads a params-file line starting with "@" as another params
        # file (for workers), so every argument must be one --flag=value.
        loose = [a for a in argv[1:] if not (a.startswith("--") and "=" in a)]
        asserts.equals(env, [], loose, "link arguments not in --flag=value form")
        ld = _flag_value(argv, "--ld") or ""
        asserts.true(env, ld.endswith(ctx.attr.ld), "--ld=%s, not the toolchain's %s" % (ld, ctx.attr.ld))
        asserts.true(
            env,
            ld in [f.path for f in action.inputs.to_list()],
            "the toolchain's ld.lld %s is not an input of the link" % ld,
        )

        # The action's consent to run in a persistent worker (Action.execution_info
        # is missing on Bazel 4.2.3; there docs/benchmarks.md shows the worker in use).
        info = getattr(action, "execution_info", None)
        if info != None:
            asserts.equals(env, "1", info.get("supports-workers"))
    return analysistest.end(env)

_LINK_ATTRS = {
    "linker": attr.string(doc = "how the path of the link tool the action runs ends"),
    "ld": attr.string(doc = "how the --ld path ends"),
}

# The default tools: rules_unikernel's link tool and zig's ld.lld.
link_action_test = analysistest.make(_link_action_test_impl, attrs = _LINK_ATTRS)

# A user's link toolchain, registered ahead of the default, replaces both.
custom_link_toolchain_test = analysistest.make(
    _link_action_test_impl,
    attrs = _LINK_ATTRS,
    config_settings = {
        "//command_line_option:extra_toolchains": [str(Label("//tests/analysis:custom_link_toolchain"))],
    },
)

def _image_error_test_impl(ctx):
    env = analysistest.begin(ctx)
    asserts.expect_failure(env, ctx.attr.message)
    return analysistest.end(env)

# An image that must fail analysis with `message`: bad attributes, two
# components in one slot, a required slot left empty, no code at all.
image_error_test = analysistest.make(
    _image_error_test_impl,
    expect_failure = True,
    attrs = {"message": attr.string(doc = "text the analysis error must contain")},
)
