"""Analysis tests of what unikernel_image and its runners generate for volumes."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")

def _written(env, suffix):
    """The content of the file the target writes whose name ends in `suffix`."""
    for action in analysistest.target_actions(env):
        for f in action.outputs.to_list():
            if f.basename.endswith(suffix) and action.content != None:
                return action.content
    asserts.true(env, False, "no written file ending in %s" % suffix)
    return ""

def _contains_test_impl(ctx):
    env = analysistest.begin(ctx)
    content = _written(env, ctx.attr.file_suffix)
    at = 0
    for want in ctx.attr.lines:
        found = content.find(want, at)
        asserts.true(env, found >= 0, "%r not in %s (after offset %d):\n%s" % (want, ctx.attr.file_suffix, at, content))
        at = found + len(want) if found >= 0 else at
    for bad in ctx.attr.absent:
        asserts.true(env, content.find(bad) < 0, "%r in %s:\n%s" % (bad, ctx.attr.file_suffix, content))
    return analysistest.end(env)

# A file the target writes (the image's .xl.cfg, a runner's launcher)
# contains `lines` in this order and none of `absent`.
written_file_test = analysistest.make(
    _contains_test_impl,
    attrs = {
        "file_suffix": attr.string(mandatory = True),
        "lines": attr.string_list(),
        "absent": attr.string_list(),
    },
)

def _volume_action_test_impl(ctx):
    env = analysistest.begin(ctx)
    actions = [a for a in analysistest.target_actions(env) if a.mnemonic == "UnikernelVolume"]
    asserts.equals(env, 1, len(actions), "expected one UnikernelVolume action")
    if actions:
        argv = actions[0].argv
        asserts.true(env, argv[0].endswith("rules_unikernel/tool/volume"), "the volume was built by %s" % argv[0])
        for flag in ctx.attr.flags:
            asserts.true(env, flag in argv, "%s not in %s" % (flag, argv))
        inputs = sorted([f.short_path for f in actions[0].inputs.to_list() if f.short_path.startswith("tests/")])
        asserts.equals(env, sorted(ctx.attr.inputs), inputs)
    return analysistest.end(env)

# The build action's flags and exactly its files as inputs.
volume_action_test = analysistest.make(
    _volume_action_test_impl,
    attrs = {"flags": attr.string_list(), "inputs": attr.string_list()},
)
