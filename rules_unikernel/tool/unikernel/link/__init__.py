"""unikernel.link: link freestanding x86-64 objects into a Xen PVH image.

The pipeline mirrors lld's, one module per stage:

    reader/archive  read --input files (objects, ar archives) into the model
    symtab          resolve symbols; pull archive members only when needed
    classify, plan  decide where every input section goes (a plan, as data)
    notes, script   render the plan and the Xen notes as a linker script
    lld             run ld.lld on it
    verify          read the image back and check it
    manifest        describe the link as JSON; report prints it for humans

``driver.link`` runs the pipeline; ``python -m unikernel.link`` is its CLI.
"""
