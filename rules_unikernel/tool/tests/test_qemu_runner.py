"""The QEMU runner's judgement of a run (unikernel.qemu)."""

from __future__ import annotations

import os
import socket
import stat
import time
from pathlib import Path

import pytest

from unikernel import qemu


def test_guest_exit_with_marker():
    out = qemu.judge("hello\r\n[boot] exit status 3\r\n", 7)
    assert out.guest_status == 3
    assert out.reason == "guest exited with status 3"
    assert out.output == "hello\n[boot] exit status 3\n"


def test_debug_exit_without_marker_is_reported_as_such():
    out = qemu.judge("oops\n", 253)
    assert out.guest_status == 126
    assert "without the '[boot] exit status' line" in out.reason


def test_marker_disagreeing_with_port_value_is_not_trusted():
    out = qemu.judge("[boot] exit status 0\n", 7)
    assert out.guest_status == 3
    assert "without the" in out.reason


def test_qemu_exit_zero_means_no_guest_status():
    out = qemu.judge("", 0)
    assert out.guest_status is None
    assert "triple fault or reset" in out.reason


def test_qemu_error_status():
    out = qemu.judge("qemu: could not load kernel\n", 2)
    assert out.guest_status is None
    assert out.reason == "QEMU failed with exit status 2"


def test_check_reports_every_failed_expectation():
    outcome = qemu.Outcome("Hello\nsecret\n", 1, "guest exited with status 1")
    failures = qemu.check(outcome, 0, expect=["^Hello$", "^Bye$"], reject=["secret"])
    assert len(failures) == 3
    assert "expected guest exit status 0" in failures[0]
    assert "'^Bye$'" in failures[1]
    assert "rejected pattern 'secret'" in failures[2]
    assert qemu.check(outcome, 1, expect=["^Hello$"], reject=["^Bye$"]) == []


def _fake_qemu(tmp_path: Path, body: str) -> Path:
    # A stand-in for qemu-system-x86_64 whose behaviour the test controls.
    script = tmp_path / "fake-qemu"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_hung_guest_times_out_with_output_so_far(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("UNIKERNEL_QEMU", str(_fake_qemu(tmp_path, "echo booting; exec sleep 30\n")))
    image = tmp_path / "image.elf"
    image.write_bytes(b"\x7fELF")
    rc = qemu.main(["--image", str(image), "--timeout", "1"])
    printed = capsys.readouterr().out
    assert rc == 1
    assert "booting" in printed
    assert "timed out after 1 s" in printed


def test_missing_image_is_one_line_error(tmp_path, capsys):
    rc = qemu.main(["--image", str(tmp_path / "nope.elf")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1
    assert "does not exist" in err


def test_missing_qemu_names_the_package(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("UNIKERNEL_QEMU", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    image = tmp_path / "image.elf"
    image.write_bytes(b"\x7fELF")
    assert qemu.main(["--image", str(image)]) == 2
    assert "apt-get install qemu-system-x86" in capsys.readouterr().err


def test_passing_run_prints_pass(tmp_path, monkeypatch, capsys):
    body = "printf 'Hello\\r\\n[boot] exit status 0\\r\\n'; exit 1\n"
    monkeypatch.setenv("UNIKERNEL_QEMU", str(_fake_qemu(tmp_path, body)))
    image = tmp_path / "image.elf"
    image.write_bytes(b"\x7fELF")
    assert qemu.main(["--image", str(image), "--expect", "^Hello$"]) == 0
    assert "PASS: guest exited with status 0" in capsys.readouterr().out


def test_image_failing_verify_is_not_booted(tmp_path, monkeypatch, capsys):
    # The fake QEMU would pass; the broken image must stop the run before it.
    body = "printf '[boot] exit status 0\\r\\n'; exit 1\n"
    monkeypatch.setenv("UNIKERNEL_QEMU", str(_fake_qemu(tmp_path, body)))
    image = tmp_path / "image.elf"
    image.write_bytes(b"\x7fELF")
    manifest = tmp_path / "image.manifest.json"
    manifest.write_text("{}")
    assert qemu.main(["--image", str(image), "--verify-manifest", str(manifest)]) == 1
    out = capsys.readouterr().out
    assert "FAIL: the image does not pass `unikernel verify`" in out
    assert "PASS" not in out


def test_nics_use_the_machines_virtio_transport():
    micro = qemu.qemu_command("q", qemu.Machine(Path("i.elf"), nics=("user",)), False)
    at = micro.index("-netdev")
    assert micro[at : at + 4] == ["-netdev", "user,id=net0", "-device", "virtio-net-device,netdev=net0"]
    assert "virtio-mmio.force-legacy=false" in micro
    assert micro[micro.index("-M") + 1] == "microvm,acpi=off"  # devices on the command line
    pc = qemu.qemu_command("q", qemu.Machine(Path("i.elf"), machine="pc", nics=("user", "user")), False)
    assert "virtio-net-pci,netdev=net1" in pc
    assert "virtio-mmio.force-legacy=false" not in pc
    assert pc[pc.index("-M") + 1] == "pc"
    none = qemu.qemu_command("q", qemu.Machine(Path("i.elf")), False)
    assert "-netdev" not in none
    assert none[none.index("-M") + 1] == "microvm"


def test_unknown_nic_or_machine_is_a_one_line_error():
    with pytest.raises(qemu.RunError, match="unknown NIC kind 'tap'"):
        qemu.qemu_command("q", qemu.Machine(Path("i.elf"), nics=("tap",)), False)
    with pytest.raises(qemu.RunError, match="unknown machine 'isapc'"):
        qemu.qemu_command("q", qemu.Machine(Path("i.elf"), machine="isapc"), False)


def test_a_tap_nic_names_an_existing_interface_without_scripts():
    cmd = qemu.qemu_command("q", qemu.Machine(Path("i.elf"), nics=("tap:uk0",)), False)
    assert cmd[cmd.index("-netdev") + 1] == "tap,ifname=uk0,script=no,downscript=no,id=net0"
    for bad in ("tap:", "tap:a b", "tap:" + "x" * 16, "tap:eth0,script=/tmp/x"):
        with pytest.raises(qemu.RunError, match="is not an interface name"):
            qemu.qemu_command("q", qemu.Machine(Path("i.elf"), nics=(bad,)), False)


def test_tap_option_swaps_the_first_nic_and_drops_forwards(tmp_path, capsys, monkeypatch):
    image = tmp_path / "i.elf"
    image.write_bytes(b"\x7fELF")
    seen: list[list[str]] = []
    monkeypatch.setattr(qemu, "find_qemu", lambda: "qemu-system-x86_64")
    monkeypatch.setattr(
        qemu.subprocess, "run", lambda cmd, check: seen.append(cmd) or qemu.subprocess.CompletedProcess(cmd, 1)
    )
    args = qemu.parse_args(
        ["--image", str(image), "--interactive", "--nic", "user", "--nic", "user", "--forward", "tcp:7", "--tap", "uk1"]
    )
    qemu.run(args, tmp_path)
    (cmd,) = seen
    netdevs = [cmd[i + 1] for i, a in enumerate(cmd) if a == "-netdev"]
    assert netdevs == ["tap,ifname=uk1,script=no,downscript=no,id=net0", "user,id=net1"]
    assert "port forwards are dropped" in capsys.readouterr().err


def test_cpu_model_is_passed_or_left_to_qemu():
    default = qemu.qemu_command("q", qemu.Machine(Path("i.elf")), False)
    assert "-cpu" not in default
    no_nx = qemu.qemu_command("q", qemu.Machine(Path("i.elf"), cpu="qemu64,-nx"), False)
    assert no_nx[no_nx.index("-cpu") + 1] == "qemu64,-nx"
    assert qemu.parse_args(["--image", "i.elf", "--cpu", "max"]).cpu == "max"


@pytest.mark.parametrize("cpu", ["qemu64 -nx", "max;reboot", "qemu64,-nx\n", "$(id)"])
def test_a_cpu_value_that_is_not_one_is_a_one_line_error(cpu):
    with pytest.raises(qemu.RunError, match="is not a QEMU -cpu value"):
        qemu.qemu_command("q", qemu.Machine(Path("i.elf"), cpu=cpu), False)


def test_disks_use_the_machines_virtio_transport(tmp_path):
    disk = tmp_path / "disk0.raw"
    micro = qemu.qemu_command("q", qemu.Machine(Path("i.elf"), disks=(disk,)), False)
    at = micro.index("-drive")
    assert micro[at : at + 4] == [
        "-drive",
        f"file={disk},format=raw,if=none,id=disk0,cache=writeback",
        "-device",
        "virtio-blk-device,drive=disk0",
    ]
    assert "virtio-mmio.force-legacy=false" in micro
    assert micro[micro.index("-M") + 1] == "microvm,acpi=off"
    pc = qemu.qemu_command("q", qemu.Machine(Path("i.elf"), machine="pc", disks=(disk, disk)), False)
    assert "virtio-blk-pci,drive=disk1" in pc
    assert "virtio-mmio.force-legacy=false" not in pc


@pytest.mark.parametrize(
    ("text", "size"), [("1M", 1 << 20), ("64K", 65536), ("4096", 4096), ("2MiB", 2 << 20), ("1g", 1 << 30)]
)
def test_disk_sizes(text, size):
    assert qemu.parse_disk_size(text) == size


@pytest.mark.parametrize("text", ["", "M", "1.5M", "-1M", "100", "0", "2G", "1T", "lots"])
def test_bad_disk_size_is_a_one_line_error_and_makes_no_file(tmp_path, capsys, monkeypatch, text):
    monkeypatch.setenv("UNIKERNEL_QEMU", str(_fake_qemu(tmp_path, "exit 1\n")))
    image = tmp_path / "image.elf"
    image.write_bytes(b"\x7fELF")
    keep = str(tmp_path / "d")
    rc = qemu.main(["--image", str(image), "--disk", "1M", f"--disk={text}", "--keep-disks", keep])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1
    assert "disk size" in err
    assert not (tmp_path / "d").exists()


def test_disks_are_fresh_per_run_and_kept_on_request(tmp_path, monkeypatch, capsys):
    # The fake QEMU writes into the disk it was given: what it wrote is
    # in the kept file after the run, and the next run starts from zeroes.
    body = (
        'for a in "$@"; do case "$a" in file=*) f="${a#file=}"; f="${f%%,*}";'
        ' od -An -tx1 -N1 "$f" | grep -q " 00" || exit 3;'
        ' printf durable | dd of="$f" bs=1 seek=512 conv=notrunc 2>/dev/null;; esac; done\n'
        "printf '[boot] exit status 0\\r\\n'; exit 1\n"
    )
    monkeypatch.setenv("UNIKERNEL_QEMU", str(_fake_qemu(tmp_path, body)))
    image = tmp_path / "image.elf"
    image.write_bytes(b"\x7fELF")
    keep = tmp_path / "disks"
    for _ in range(2):
        assert qemu.main(["--image", str(image), "--disk", "64K", "--keep-disks", str(keep)]) == 0
        data = (keep / "disk0.raw").read_bytes()
        assert len(data) == 65536
        assert data[512:519] == b"durable"
        assert data[:512] == bytes(512) and data[519:] == bytes(65536 - 519)
    assert "-drive" in capsys.readouterr().out


def test_bad_machine_with_disks_makes_no_file(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("UNIKERNEL_QEMU", str(_fake_qemu(tmp_path, "exit 1\n")))
    image = tmp_path / "image.elf"
    image.write_bytes(b"\x7fELF")
    keep = tmp_path / "d"
    args = ["--image", str(image), "--machine", "isapc", "--disk", "1M", "--keep-disks", str(keep)]
    assert qemu.main(args) == 2
    assert "unknown machine 'isapc'" in capsys.readouterr().err
    assert not keep.exists()


def test_a_forward_rides_on_the_first_user_nic():
    fwd = qemu.Forward("tcp", 40007, 7)
    m = qemu.Machine(Path("i.elf"), nics=("user", "user"), forwards=(fwd,))
    cmd = qemu.qemu_command("q", m, False)
    netdevs = [cmd[i + 1] for i, a in enumerate(cmd) if a == "-netdev"]
    assert netdevs == ["user,id=net0,hostfwd=tcp:127.0.0.1:40007-:7", "user,id=net1"]


@pytest.mark.parametrize(("text", "host", "guest"), [("tcp:8080:80", 8080, 80), ("udp:5353:53", 5353, 53)])
def test_forward_with_a_host_port(text, host, guest):
    f = qemu.parse_forward(text)
    assert (f.host, f.guest) == (host, guest)


def test_forward_without_a_host_port_picks_a_free_one():
    f = qemu.parse_forward("tcp:7")
    assert f.proto == "tcp" and f.guest == 7 and 0 < f.host < 65536
    with socket.socket() as s:
        s.bind(("127.0.0.1", f.host))  # nothing listens there


def test_one_guest_port_over_udp_and_tcp_gets_one_host_port():
    udp, tcp, other = qemu.parse_forwards(["udp:53", "tcp:53", "tcp:7"])
    assert (udp.proto, tcp.proto) == ("udp", "tcp") and udp.host == tcp.host
    assert (udp.guest, tcp.guest, other.guest) == (53, 53, 7)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, socket.socket() as t:
        u.bind(("127.0.0.1", udp.host))  # free for both
        t.bind(("127.0.0.1", tcp.host))
    given = qemu.parse_forwards(["udp:5353:53", "tcp:53"])
    assert given[0].host == 5353


@pytest.mark.parametrize("text", ["7", "sctp:7", "tcp:", "tcp:x", "tcp:0", "tcp:70000", "tcp:1:2:3"])
def test_a_bad_forward_is_a_one_line_error(text):
    with pytest.raises(qemu.RunError, match="forward"):
        qemu.parse_forward(text)


def test_a_forward_needs_a_user_nic(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("UNIKERNEL_QEMU", str(_fake_qemu(tmp_path, "exit 1\n")))
    image = tmp_path / "image.elf"
    image.write_bytes(b"\x7fELF")
    assert qemu.main(["--image", str(image), "--forward", "tcp:7"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs a user-network NIC" in err


# booted_command: the fixture tests boot guests with, on a real process
# (a shell standing for QEMU: it prints a console, then runs until killed).


def _shell(script: str) -> list[str]:
    return ["sh", "-c", script]


def test_booted_yields_once_the_ready_line_is_printed_and_kills_at_the_end(tmp_path, capsys):
    log = tmp_path / "console.log"
    script = "echo booting; sleep 0.3; printf 'app: ready\\r\\n'; exec sleep 60"
    with qemu.booted_command(_shell(script), log, "app: ready", timeout=30) as guest:
        assert guest.proc.poll() is None
        assert guest.console() == "booting\napp: ready\n"
    assert guest.proc.returncode == -9  # SIGKILL, not a clean exit
    assert "app: ready" in capsys.readouterr().out  # the console's tail, for the test log


def test_booted_kills_the_whole_process_group(tmp_path):
    pidfile = tmp_path / "child.pid"
    log = tmp_path / "console.log"
    with qemu.booted_command(_shell(f"sleep 60 & echo $! > {pidfile}; echo up; wait"), log, "up", timeout=30):
        child = int(pidfile.read_text())
    # The background child was in the group: it is gone (or a zombie of init's).
    for _ in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        state = Path(f"/proc/{child}/stat").read_text().split(")")[-1].split()[0]
        if state == "Z":
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"process {child} of the guest's group outlived the block")


def test_a_guest_that_exits_before_its_ready_line_fails_with_the_console_tail(tmp_path):
    lines = "; ".join(f"echo line{i}" for i in range(100))
    with (
        pytest.raises(qemu.BootError) as e,
        qemu.booted_command(_shell(f"{lines}; echo panic: no disk; exit 3"), tmp_path / "c.log", "ready"),
    ):
        pytest.fail("yielded without the ready line")
    msg = str(e.value)
    assert "did not print 'ready' (QEMU exited with status 3)" in msg
    assert msg.endswith("panic: no disk")
    assert "line99" in msg and "line10\n" not in msg  # the tail, not the whole console


def test_a_guest_that_never_gets_ready_times_out_with_the_console_tail(tmp_path):
    log = tmp_path / "c.log"
    late = r"did not print 'ready' \(not within 0.5 s\)[^\n]*\nstill booting$"
    with (
        pytest.raises(qemu.BootError, match=late),
        qemu.booted_command(_shell("echo still booting; exec sleep 60"), log, "ready", timeout=0.5),
    ):
        pass


def test_console_tail():
    assert qemu.console_tail("a\nb\nc\n", lines=2) == "b\nc"
    assert qemu.console_tail("") == ""
