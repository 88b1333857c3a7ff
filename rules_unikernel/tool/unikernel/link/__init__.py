"""unikernel.link: link freestanding x86-64 objects into a Xen PVH image.

The pipeline mirrors lld's, one module per stage:

    reader/archive  read --input files (objects, ar archives) into the model
    symtab          resolve symbols; pull archive members only when needed
    classify        give every input section a place (or an error)
    marklive        which sections the image needs: reachability from the roots
    plan            the layout as data: explicit file(section) lines of live sections
    rng, aslr       the seeded generator; function order, padding and base from a seed
    notes, seal     ELF notes as data: the Xen notes, the seal (W^X map) note
    script          render the plan as a linker script
    lld             run ld.lld on it; its garbage collection must agree with marklive
    verify          read the image back and check it (W^X, seal, notes, window)
    usage           per-component accounting: bytes in, kept, removed
    manifest        describe the link as JSON (docs/manifest.md); report prints it

``driver.link`` runs the pipeline; ``python -m unikernel.link`` is its CLI.
"""
