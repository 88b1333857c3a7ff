"""examples/httpd serving its site from a read-only volume (:volume_image).

The image boots on -M microvm with :site_volume attached read-only as
its first disk (virtio-blk) and a free host port forwarded to its port
80. Every file of site/ must come back byte for byte with its content
type and a strong ETag that If-None-Match turns into 304; the console
must say the files came from the volume.
"""

from __future__ import annotations

import http.client
import os
import re
from pathlib import Path

from unikernel import qemu

BOOT_SECONDS = 60
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    ".bin": "application/octet-stream",
}


def _site() -> dict[str, Path]:
    """{served path: source file} of every file under site/."""
    out = {}
    for p in os.environ["SITE"].split():
        out["/" + p.split("/site/", 1)[1]] = Path(p)
    return out


def test_site_from_a_read_only_volume(tmp_path: Path) -> None:
    paths = [Path(p) for p in os.environ["IMAGE"].split()]
    (elf,) = [p for p in paths if p.name.endswith(".elf") and not p.name.endswith(".debug.elf")]
    volume = Path(__file__).parent / "site_volume.img"
    port = qemu.free_port("tcp")
    machine = qemu.Machine(
        elf,
        cmdline="",
        machine="microvm",
        nics=("user",),
        disks=(volume,),
        read_only=frozenset({volume}),
        forwards=(qemu.Forward("tcp", port, 80),),
    )
    with qemu.booted(machine, tmp_path / "console.log", "listening on port 80", BOOT_SECONDS) as guest:
        site = _site()
        console = guest.console()
        assert re.search(rf"^httpd: {len(site)} files read from the volume on virtio-", console, re.MULTILINE)
        assert f"httpd: {len(site)} files (volume), listening on port 80" in console
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for served, source in sorted(site.items()):
            conn.request("GET", served)
            r = conn.getresponse()
            body = r.read()
            assert r.status == 200, served
            assert body == source.read_bytes(), served
            assert r.getheader("Content-Type") == TYPES[source.suffix], served
            etag = r.getheader("ETag")
            assert etag and re.fullmatch(r'"[0-9a-f]{16}"', etag), etag
            conn.request("GET", served, headers={"If-None-Match": etag})
            r = conn.getresponse()
            assert (r.status, r.read()) == (304, b""), served
        conn.request("GET", "/")
        assert conn.getresponse().read() == site["/index.html"].read_bytes()
        conn.request("GET", "/missing.html")
        r = conn.getresponse()
        assert r.status == 404
        r.read()
