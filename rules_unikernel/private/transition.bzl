"""The transition that builds an image's deps for the unikernel platform."""

# Spelled out so a BUILD file of another repository resolves it to ours.
UNIKERNEL_PLATFORM = str(Label("//rules_unikernel/toolchain:xen_x86_64"))

def _unikernel_platform_transition_impl(_settings, _attr):
    return {"//command_line_option:platforms": UNIKERNEL_PLATFORM}

unikernel_platform_transition = transition(
    implementation = _unikernel_platform_transition_impl,
    inputs = [],
    outputs = ["//command_line_option:platforms"],
)
