#!/usr/bin/env python3
"""dom0's end of the vchan_echo test: Xen's own libxenvchan (through
ctypes) talking to the unikernel's vchan.

    vchan-peer.py client DOMID XS_PATH   the unikernel is the server
    vchan-peer.py server DOMID XS_PATH   dom0 serves at XS_PATH (in its own
                                         xenstore home), the unikernel
                                         connects as the client

Connects (or waits for the client), expects "vchan_echo ready", sends lines (short ones, then one
longer than both rings so each side must wait for the other), checks
every "echo ..." answer, sends "quit", expects "bye", closes. Prints one
line per step and "vchan-peer: N/N checks passed"; exit 0 iff all did.

Only non-blocking calls are made (reads of at most data_ready bytes,
writes of at most buffer_space), and waits are select() on the event
channel's fd with a timeout, then libxenvchan_wait() to take the event.
"""
import ctypes
import select
import sys
import time

TIMEOUT = 30.0  # seconds for any one step


def load(name):
    """dlopen, retried: once in a run, dom0 (under TCG) failed to resolve
    a symbol that libxentoolcore does define (a flake, like xl's
    occasional malloc corruption); the next attempt is logged."""
    for attempt in range(3):
        try:
            return ctypes.CDLL(name)
        except OSError as e:
            print("vchan-peer: loading %s failed (attempt %d): %s"
                  % (name, attempt + 1, e))
            time.sleep(1)
    return ctypes.CDLL(name)


def main():
    role, domid, path = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
    lib = load("libxenvchan.so.4.17")
    lib.libxenvchan_client_init.restype = ctypes.c_void_p
    lib.libxenvchan_client_init.argtypes = [ctypes.c_void_p, ctypes.c_int,
                                            ctypes.c_char_p]
    for name in ("libxenvchan_read", "libxenvchan_write"):
        getattr(lib, name).argtypes = [ctypes.c_void_p, ctypes.c_void_p,
                                       ctypes.c_size_t]
    for name in ("libxenvchan_data_ready", "libxenvchan_buffer_space",
                 "libxenvchan_fd_for_select", "libxenvchan_wait",
                 "libxenvchan_is_open"):
        getattr(lib, name).argtypes = [ctypes.c_void_p]
    lib.libxenvchan_close.argtypes = [ctypes.c_void_p]

    lib.libxenvchan_server_init.restype = ctypes.c_void_p
    lib.libxenvchan_server_init.argtypes = [ctypes.c_void_p, ctypes.c_int,
                                            ctypes.c_char_p, ctypes.c_size_t,
                                            ctypes.c_size_t]
    if role == "client":
        ctrl = lib.libxenvchan_client_init(None, domid, path)
    else:
        ctrl = lib.libxenvchan_server_init(None, domid, path, 4096, 4096)
    if not ctrl:
        print("vchan-peer: libxenvchan_%s_init(%d, %s) failed"
              % (role, domid, path.decode()))
        return 1
    print("vchan-peer: %s for dom%d at %s" % (
        "connected" if role == "client" else "serving", domid, path.decode()))
    fd = lib.libxenvchan_fd_for_select(ctrl)
    pending = bytearray()

    def wait(deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        r, _, _ = select.select([fd], [], [], min(left, 1.0))
        if r:
            lib.libxenvchan_wait(ctrl)

    def send(data):
        deadline = time.monotonic() + TIMEOUT
        done = 0
        while done < len(data):
            space = lib.libxenvchan_buffer_space(ctrl)
            if space > 0:
                chunk = data[done:done + space]
                n = lib.libxenvchan_write(ctrl, chunk, len(chunk))
                if n < 0:
                    raise IOError("libxenvchan_write: %d" % n)
                done += n
                # The server may be waiting to read: drain our side too.
                drain()
            else:
                wait(deadline)

    def drain():
        ready = lib.libxenvchan_data_ready(ctrl)
        if ready > 0:
            buf = ctypes.create_string_buffer(ready)
            n = lib.libxenvchan_read(ctrl, buf, ready)
            if n < 0:
                raise IOError("libxenvchan_read: %d" % n)
            pending.extend(buf.raw[:n])

    def recv_line():
        deadline = time.monotonic() + TIMEOUT
        while b"\n" not in pending:
            drain()
            if b"\n" not in pending:
                if lib.libxenvchan_is_open(ctrl) == 0:
                    raise IOError("the server closed")
                wait(deadline)
        i = pending.index(b"\n")
        line = bytes(pending[:i])
        del pending[:i + 1]
        return line

    checks = []

    def check(what, ok, detail=""):
        checks.append(ok)
        print("vchan-peer: %s %s%s" % ("ok" if ok else "FAILED", what,
                                           (": " + detail) if detail else ""))

    try:
        line = recv_line()
        check("server greeting (server -> client)", line == b"vchan_echo ready",
              repr(line))
        for i, text in enumerate([b"hello from dom0", b"second line",
                                  b"x" * 200]):
            send(text + b"\n")
            line = recv_line()
            check("echo of line %d (%d bytes, both ways)" % (i + 1, len(text)),
                  line == b"echo " + text, repr(line[:60]))
        big = bytes((i * 7 + 11) % 26 + 97 for i in range(20000))
        send(big + b"\n")
        line = recv_line()
        check("echo of a 20000-byte line (larger than both rings)",
              line == b"echo " + big, "%d bytes back" % len(line))
        send(b"quit\n")
        line = recv_line()
        check("bye after quit", line == b"bye", repr(line))
    except (IOError, TimeoutError) as e:
        check("conversation", False, "%s: %s" % (type(e).__name__, e))
    lib.libxenvchan_close(ctrl)
    print("vchan-peer: closed")
    print("vchan-peer: %d/%d checks passed" % (sum(checks), len(checks)))
    return 0 if checks and all(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
