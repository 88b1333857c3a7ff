"""Analysis-time validation of the components an image links.

Components declare what they are and what they need with tags:

    tags = ["unikernel_slot:mm_allocator"]        # fills the slot (at most one per image)
    tags = ["unikernel_requires:xen_hypervisor"]  # the image must fill this slot

An aspect walks an image's deps and collects both; unikernel_image fails,
naming the targets and the fix, when a slot is filled twice or a required
slot is empty.
"""

SLOT_TAG = "unikernel_slot:"
REQUIRES_TAG = "unikernel_requires:"

UnikernelComponentsInfo = provider(
    doc = "Slots filled and slots required by a target and everything it depends on.",
    fields = {
        "slots": "depset of (slot, label string) tuples: who fills which slot",
        "requires": "depset of (slot, label string) tuples: who needs which slot",
    },
)

def _tagged(tags, prefix, label):
    return [(t[len(prefix):], str(label)) for t in tags if t.startswith(prefix)]

def _components_aspect_impl(target, ctx):
    tags = getattr(ctx.rule.attr, "tags", [])
    deps = [d[UnikernelComponentsInfo] for d in getattr(ctx.rule.attr, "deps", []) if UnikernelComponentsInfo in d]
    return [UnikernelComponentsInfo(
        slots = depset(_tagged(tags, SLOT_TAG, target.label), transitive = [d.slots for d in deps]),
        requires = depset(_tagged(tags, REQUIRES_TAG, target.label), transitive = [d.requires for d in deps]),
    )]

components_aspect = aspect(
    implementation = _components_aspect_impl,
    attr_aspects = ["deps"],
    doc = "Collects unikernel_slot:/unikernel_requires: tags through deps.",
)

def check_components(image_label, deps):
    """Fails analysis if a slot is filled twice or a required slot is empty."""
    infos = [d[UnikernelComponentsInfo] for d in deps if UnikernelComponentsInfo in d]
    fillers = {}
    for slot, label in depset(transitive = [i.slots for i in infos]).to_list():
        fillers.setdefault(slot, [])
        if label not in fillers[slot]:
            fillers[slot].append(label)
    for slot in sorted(fillers):
        if len(fillers[slot]) > 1:
            fail("%s links %d targets in slot '%s': %s; keep one in its deps." % (
                image_label,
                len(fillers[slot]),
                slot,
                " and ".join(sorted(fillers[slot])),
            ))
    for slot, label in sorted(depset(transitive = [i.requires for i in infos]).to_list()):
        if slot not in fillers:
            fail(("%s: %s needs a component in slot '%s', and none is linked; add one to deps " +
                  "(a target tagged \"unikernel_slot:%s\"; docs/rules.md lists them).") % (image_label, label, slot, slot))
