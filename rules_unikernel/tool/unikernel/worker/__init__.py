"""unikernel.worker: how Bazel runs the tools, as plain processes or persistent workers.

One module per job:

    params    ``@FILE`` command lines (one argument per line)
    protocol  WorkRequest / WorkResponse in protocol buffers' wire format
    serve     the worker loop: one forked child per request
"""
