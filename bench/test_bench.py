"""The benchmark scripts' parsing, comparison and table code, without QEMU."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from bench import appliances
from bench import blk
from bench import xen_appliances

AB_OUT = """\
Concurrency Level:      10
Time taken for tests:   2.500 seconds
Complete requests:      500
Failed requests:        3
Requests per second:    200.12 [#/sec] (mean)
Time per request:       49.970 [ms] (mean)

Percentage of the requests served within a certain time (ms)
  50%     41
  66%     45
  90%     60
  99%    120
 100%    250 (longest request)
"""

DNSPERF_OUT = """\
Statistics:

  Queries sent:         1500
  Queries completed:    1490 (99.33%)
  Queries lost:         10 (0.67%)

  Queries per second:   148.912345
"""


def test_parse_ab() -> None:
    r = appliances.parse_ab(AB_OUT)
    assert (r.rps, r.p50_ms, r.p99_ms, r.failed) == (200.12, 41.0, 120.0, 3)


def test_parse_ab_without_summary_is_a_clear_error() -> None:
    with pytest.raises(appliances.BenchError, match="ab printed no"):
        appliances.parse_ab("apr_socket_recv: Connection reset by peer (104)\n")


def test_parse_dnsperf() -> None:
    r = appliances.parse_dnsperf(DNSPERF_OUT)
    assert (r.qps, r.sent, r.lost) == (148.912345, 1500, 10)
    with pytest.raises(appliances.BenchError, match="no summary"):
        appliances.parse_dnsperf("Error: could not open datafile\n")


def test_dns_query_is_a_plain_question() -> None:
    q = appliances.dns_query("www.example.test.", 1, qid=7)
    assert q[:12] == struct.pack("!HHHHHH", 7, 0, 1, 0, 0, 0)
    assert q[12:] == b"\x03www\x07example\x04test\x00" + struct.pack("!HH", 1, 1)


def test_compare_answers_byte_for_byte() -> None:
    ours = {"a A": b"\x01\x02\x03", "b MX": b"\x01\x02", "c NS": None, "d TXT": b"xy"}
    theirs = {"a A": b"\x01\x02\x03", "b MX": b"\x01\x09\x00", "c NS": b"z", "d TXT": None}
    r = appliances.compare_answers(ours, theirs)
    assert (r.rrsets, r.identical) == (4, 1)
    assert r.differ == [
        "b MX: first difference at byte 1 (lengths 2/3)",
        "c NS: ours did not answer",
        "d TXT: theirs did not answer",
    ]
    # A prefix differs at its end.
    assert appliances.compare_answers({"k A": b"ab"}, {"k A": b"abc"}).differ == [
        "k A: first difference at byte 2 (lengths 2/3)"
    ]


def _sample(side: str, test: str, boot: float, rss: int, **result: float) -> appliances.Sample:
    return appliances.Sample(side, test, boot, rss, None, dict(result))


def test_table_takes_medians_and_ratios(tmp_path: Path) -> None:
    elf = tmp_path / "image.elf"
    elf.write_bytes(b"\0" * 1000)
    kernel, initrd = tmp_path / "vmlinuz", tmp_path / "initrd.img"
    kernel.write_bytes(b"\0" * 3000)
    initrd.write_bytes(b"\0" * 7000)
    sides = {
        "httpd": appliances.Side("httpd", elf, None, ""),
        "nginx": appliances.Side("nginx", kernel, initrd, ""),
    }
    samples = [
        _sample("httpd", "ab c=10", 1.0, 100, rps=300.0, p50_ms=3.0, p99_ms=9.0),
        _sample("httpd", "ab c=10", 3.0, 300, rps=100.0, p50_ms=5.0, p99_ms=11.0),
        _sample("httpd", "ab c=10", 2.0, 200, rps=200.0, p50_ms=4.0, p99_ms=10.0),
        _sample("nginx", "ab c=10", 8.0, 1000, rps=100.0, p50_ms=8.0, p99_ms=20.0),
    ]
    rows = {r.what: r for r in appliances.table(samples, sides)}
    rps = rows["httpd/nginx requests/s, ab c=10"]
    assert (rps.ours, rps.theirs, rps.ratio, rps.target) == (200.0, 100.0, 2.0, ">= 1.2")
    assert rows["httpd/nginx image bytes (ELF vs vmlinuz+initrd)"].ratio == 0.1
    assert rows["httpd/nginx boot to first answer"].ratio == 0.25
    assert rows["httpd/nginx QEMU resident memory after load"].ours == 200
    assert "| httpd/nginx requests/s, ab c=10 | 200 | 100 | req/s | 2.000 | >= 1.2 |" in appliances.render(
        list(rows.values())
    )


def test_appliances_arguments() -> None:
    args = appliances.parse_args(["--concurrency", "1,10", "--rounds", "2"])
    assert (args.concurrency, args.rounds) == ([1, 10], 2)
    for bad in (["--concurrency", "1,x"], ["--rounds", "0"], ["--concurrency", "0"]):
        with pytest.raises(SystemExit):
            appliances.parse_args(bad)


def test_parse_ab_counts_answers_other_than_2xx() -> None:
    assert appliances.parse_ab(AB_OUT).non_2xx == 0
    out = AB_OUT.replace("Requests per second:", "Non-2xx responses:      7\nRequests per second:")
    assert appliances.parse_ab(out).non_2xx == 7


def test_kv_table_takes_medians_and_leaves_out_bad_runs() -> None:
    def kv(test: str, rps: float, **extra: object) -> appliances.Sample:
        return _sample("kvstore", test, 0.2, 100, rps=rps, p50_ms=rps / 100, p99_ms=rps / 10, **extra)

    samples = [
        kv("kv GET c=1", 900.0),
        kv("kv PUT c=10", 50.0),
        kv("kv PUT c=1", 100.0),
        kv("kv PUT c=1", 300.0),
        kv("kv PUT c=1", 200.0),
        kv("kv PUT c=1", 9999.0, non_2xx=3),
        kv("kv PUT c=1", float("nan"), error="apr_pollset_poll: The timeout specified has expired"),
    ]
    rows = appliances.kv_table(samples)
    assert [r.test for r in rows] == ["PUT c=1", "PUT c=10", "GET c=1"]
    assert (rows[0].rps, rows[0].p50_ms, rows[0].runs, rows[0].gave_up) == (200.0, 2.0, 3, 2)
    assert "| PUT c=1 | 200.0 | 2 | 20 | 3 (2) |" in appliances.render_kv(rows)


def test_kvstore_needs_its_image_and_volume_not_linux(tmp_path: Path) -> None:
    args = appliances.parse_args(["--only", "kvstore", "--bazel-bin", str(tmp_path), "--linux-dir", str(tmp_path / "none")])
    with pytest.raises(appliances.BenchError, match="bazel build //examples/kvstore:image //examples/kvstore:data"):
        appliances.sides(args)
    kv = tmp_path / "examples/kvstore"
    kv.mkdir(parents=True)
    (kv / "image.elf").write_bytes(b"\0")
    with pytest.raises(appliances.BenchError, match="data.img does not exist"):
        appliances.sides(args)
    (kv / "data.img").write_bytes(b"\0" * 512)
    side = appliances.sides(args)["kvstore"]
    assert (side.volume, side.probe) == (kv / "data.img", "/k/")
    assert "-drive" in side.command((), "tcg", (tmp_path / "copy.img",))


def test_kv_arguments() -> None:
    args = appliances.parse_args(["--only", "kvstore", "--kv-concurrency", "1,10", "--kv-requests", "50"])
    assert (args.kv_concurrency, args.kv_requests) == ([1, 10], 50)
    for bad in (["--kv-concurrency", "ten"], ["--kv-concurrency", "0"], ["--kv-requests", "0"]):
        with pytest.raises(SystemExit):
            appliances.parse_args(bad)


CONSOLE = """\
[virtio] virtio-mmio@0xfeb00e00: block (device 2)
BLKBENCH policy write-back+2q, 1024 blocks of 512 bytes
BLKBENCH seqwrite ops=2048 bytes=8388608 ns=2000000000 p50_ns=343677 p99_ns=7981839
BLKBENCH seqread ops=2048 bytes=8388608 ns=500000000 p50_ns=86249 p99_ns=3798155
BLKBENCH randread ops=2048 bytes=8388608 ns=250000000 p50_ns=88483 p99_ns=399181
BLKBENCH randread-hot ops=2048 bytes=8388608 ns=100000000 p50_ns=5418 p99_ns=1449621
BLKBENCH randwrite ops=2048 bytes=8388608 ns=4000000000 p50_ns=959704 p99_ns=12007374
BLKBENCH done 0
"""


def test_parse_blkbench() -> None:
    phases = blk.parse_blkbench(CONSOLE, "write_back_two_q")
    assert [p.phase for p in phases] == list(blk.PHASES)
    assert phases[0].mib_s == 4.0  # 8 MiB in 2 s
    assert phases[1].mib_s == 16.0
    assert (phases[0].p50_us, phases[0].p99_us) == (343.677, 7981.839)


def test_parse_blkbench_unfinished_is_a_clear_error() -> None:
    cut = CONSOLE.replace("BLKBENCH done 0\n", "BLKBENCH randwrite: request 3 at byte 0 failed: -5\n")
    with pytest.raises(blk.BenchError, match="did not finish its phases"):
        blk.parse_blkbench(cut, "none")


def _fio_job(name: str, write: bool, io_bytes: int, runtime_ms: int) -> dict[str, object]:
    used = {"io_bytes": io_bytes, "runtime": runtime_ms, "clat_ns": {"percentile": {"50.000000": 2000, "99.000000": 9000}}}
    idle = {"io_bytes": 0, "runtime": 0, "clat_ns": {}}
    return {"jobname": name, "job_runtime": runtime_ms, "read": idle if write else used, "write": used if write else idle}


def test_parse_fio() -> None:
    jobs = [_fio_job(p, p.endswith("write"), 8 << 20, 1000 if p.endswith("write") else 500) for p in blk.PHASES]
    console = "noise\r\nBENCH: fio-json-begin\r\n" + json.dumps({"jobs": jobs}) + "\r\nBENCH: fio-json-end\r\n"
    phases = blk.parse_fio(console, "linux-direct")
    assert [p.mib_s for p in phases] == [8.0, 16.0, 16.0, 16.0, 8.0]
    assert (phases[0].p50_us, phases[0].p99_us) == (2.0, 9.0)
    with pytest.raises(blk.BenchError, match="no fio results"):
        blk.parse_fio("Kernel panic", "linux-direct")


def test_summarize_and_render() -> None:
    rows = blk.summarize(
        [blk.Phase("none", "seqread", v, v, v) for v in (1.0, 5.0, 3.0)]
        + [blk.Phase("linux-direct", "seqread", 2.0, 2.0, 2.0)]
    )
    assert [(r.run, r.mib_s) for r in rows] == [("none", 3.0), ("linux-direct", 2.0)]
    text = blk.render(rows)
    assert "| seqread | 3.00 MiB/s, 3/3 us | 2.00 MiB/s, 2/2 us |" in text
    assert "| seqwrite | - | - |" in text


def test_median_leaves_out_runs_that_gave_up() -> None:
    assert appliances.median([3.0, float("nan"), 1.0, 2.0]) == 2.0
    assert appliances.median([float("nan")]) != appliances.median([float("nan")])  # NaN: nothing measured


def test_blk_policies_argument() -> None:
    assert blk.parse_args(["--policies", "write_back_lru,write_through_two_q"]).policies == [
        "write_back_lru",
        "write_through_two_q",
    ]
    assert blk.parse_args([]).policies == list(blk.POLICIES)
    with pytest.raises(SystemExit):
        blk.parse_args(["--policies", "write_back_fifo"])


# ---- xen_appliances.py: the lab's results into the table ---------------------


def _response(answer_rrs: list[bytes], authority_rrs: list[bytes], flags: int = 0x8400) -> bytes:
    """A response to "example.test SOA": the question, then the given RRs
    (each a compressed owner pointing at the question's name)."""
    q = b"\x07example\x04test\x00" + struct.pack("!HH", 6, 1)
    head = struct.pack("!HHHHHH", 0x4242, flags, 1, len(answer_rrs), len(authority_rrs), 0)
    return head + q + b"".join(answer_rrs) + b"".join(authority_rrs)


def _rr(rtype: int, rdata: bytes) -> bytes:
    return b"\xc0\x0c" + struct.pack("!HHIH", rtype, 1, 3600, len(rdata)) + rdata


def test_answer_part_leaves_out_authority_and_additional() -> None:
    soa = _rr(6, b"\x00" * 22)
    ns = _rr(2, b"\x03ns1\xc0\x0c")
    minimal, nsd_like = _response([soa], []), _response([soa], [ns])
    assert minimal != nsd_like
    assert xen_appliances.answer_part(minimal) == xen_appliances.answer_part(nsd_like)
    # A different answer, or a different RCODE, is a difference.
    assert xen_appliances.answer_part(_response([_rr(6, b"\x01" * 22)], [])) != xen_appliances.answer_part(minimal)
    assert xen_appliances.answer_part(_response([soa], [], flags=0x8403)) != xen_appliances.answer_part(minimal)
    # Truncated messages are not taken for answers.
    assert xen_appliances.answer_part(minimal[:-5]) is None
    assert xen_appliances.answer_part(b"\x00" * 5) is None


def test_check_answers() -> None:
    soa = _rr(6, b"\x00" * 22)
    ours = {"example.test. SOA": _response([soa], []), "x. A": None}
    theirs = {"example.test. SOA": _response([soa], [_rr(2, b"\xc0\x0c")]), "x. A": b"\x00" * 12}
    r = xen_appliances.check_answers(ours, theirs)
    assert (r.whole.rrsets, r.whole.identical, r.answer_sections_identical) == (2, 0, 1)
    assert r.answer_sections_differ == ["x. A"]


def _results(tmp_path: Path) -> tuple[Path, Path]:
    results, images = tmp_path / "results", tmp_path / "share/images"
    results.mkdir(parents=True)
    images.mkdir(parents=True)
    (results / "bench.txt").write_text(
        "httpd xl_create_s 0.50\nhttpd first_answer_s 1.000\nhttpd mem_mib 128\n"
        "nginx xl_create_s 0.90\nnginx first_answer_s 40.000\nnginx mem_mib 128\nnginx linux_used_kib 41000\n"
        "dns first_answer_s 2.0\nnsd first_answer_s none\nnsd error no answer within 300 s of xl create\n"
        "dom0 loadavg 1.0,2.0,3.0\n"
    )
    (results / "bench-httpd.ab-c10.txt").write_text(AB_OUT)
    (results / "bench-nginx.ab-c10.txt").write_text(AB_OUT.replace("200.12", "100.06"))
    (results / "bench-httpd.ab-c100.txt").write_text("apr_pollset_poll: The timeout specified has expired (70007)\n")
    (results / "bench-dns.dnsperf.txt").write_text(DNSPERF_OUT)
    (images / "httpd.elf").write_bytes(b"\0" * 1000)
    (images / "linux-vmlinuz").write_bytes(b"\0" * 3000)
    (images / "linux-initrd.img").write_bytes(b"\0" * 7000)
    return results, images


def test_xen_table_from_results(tmp_path: Path) -> None:
    results, images = _results(tmp_path)
    r = xen_appliances.load(results, images, [10, 100])
    rows = {row.what: row for row in xen_appliances.table(r, [10, 100])}
    assert rows["httpd/nginx requests/s, ab c=10"].ratio == 2.0
    c100 = rows["httpd/nginx requests/s, ab c=100"]
    assert c100.ours != c100.ours and c100.target == ">= 1.2"  # NaN: ab gave up, and said why
    assert "httpd ab c=100: gave up (apr_pollset_poll: The timeout specified has expired (70007))" in r.notes
    assert "nsd: no answer within 300 s of xl create" in r.notes
    assert rows["httpd/nginx xl create to first answer"].ratio == 0.025
    assert rows["httpd/nginx image bytes (ELF vs vmlinuz+initrd)"].ratio == 0.1
    assert rows["dns/nsd queries/s, dnsperf"].ours == 148.912345
    verdicts = xen_appliances.verdicts(list(rows.values()))
    assert "httpd/nginx requests/s, ab c=10: ratio 2.000, target >= 1.2: met" in verdicts
    assert "httpd/nginx xl create to first answer: ratio 0.025, target <= 0.5: met" in verdicts
    assert "dns/nsd xl create to first answer: ratio nan, target <= 0.5: no figure" in verdicts
    assert "httpd/nginx image bytes (ELF vs vmlinuz+initrd): 1000 bytes, target ours <= 86 KB: met" in verdicts


def test_xen_missing_results_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(xen_appliances.BenchError, match="run the benchmark first"):
        xen_appliances.load(tmp_path, tmp_path, [1])
    assert xen_appliances.main(["--results", str(tmp_path), "--json", str(tmp_path / "x.json")]) == 1


def test_xen_main_writes_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results, _ = _results(tmp_path)
    assert xen_appliances.main(["--results", str(results), "--concurrency", "10", "--json", str(tmp_path / "x.json")]) == 0
    out = capsys.readouterr().out
    assert "| httpd/nginx requests/s, ab c=10 | 200.12 | 100.06 | req/s | 2.000 | >= 1.2 |" in out
    assert "nginx: Linux reports 41000 KiB in use" in out
    doc = json.loads((tmp_path / "x.json").read_text())
    assert doc["lines"]["dom0"]["loadavg"] == "1.0,2.0,3.0"

IPERF_R_OUT = """\
19700101000000,127.0.0.1,38170,127.0.0.1,44405,1,0.0-10.0,1611661372,1283745830
19700101000000,127.0.0.1,57816,127.0.0.1,59491,2,0.0-10.0,400775864,320616000
"""


def test_parse_iperf_csv_picks_the_reverse_run_by_its_port() -> None:
    assert appliances.parse_iperf_csv(IPERF_R_OUT) == appliances.IperfResult(1611661372, 1283.74583)
    assert appliances.parse_iperf_csv(IPERF_R_OUT, 59491) == appliances.IperfResult(400775864, 320.616)
    with pytest.raises(appliances.BenchError, match="no report for port 9"):
        appliances.parse_iperf_csv(IPERF_R_OUT, 9)
    with pytest.raises(appliances.BenchError, match="no report"):
        appliances.parse_iperf_csv("tcp connect failed: Connection refused\n")


def test_iperf_rows_against_the_issue_targets(tmp_path: Path) -> None:
    elf = tmp_path / "image.elf"
    elf.write_bytes(b"\0")
    sides = {
        "iperf": appliances.Side("iperf", elf, None, ""),
        "linux-iperf": appliances.Side("linux-iperf", elf, elf, ""),
    }
    samples = [
        _sample("iperf", "iperf receive", 0.5, 100, bytes=1, mbit_s=600.0),
        _sample("linux-iperf", "iperf receive", 6.0, 100, bytes=1, mbit_s=1200.0),
        _sample("iperf", "iperf send", 0.5, 100, bytes=1, mbit_s=330.0),
        _sample("linux-iperf", "iperf send", 6.0, 100, bytes=1, mbit_s=300.0),
    ]
    rows = {r.what: r for r in appliances.table(samples, sides)}
    receive = rows["iperf/Linux iperf 2 TCP receive, 10 s"]
    send = rows["iperf/Linux iperf 2 TCP send, 10 s"]
    assert (receive.ratio, receive.target) == (0.5, ">= 1.0")
    assert (send.ratio, send.target) == (1.1, ">= 0.9")
    assert appliances.parse_args(["--only", "iperf"]).only == "iperf"


NIC_CONSOLE = """\
iperf: received 2000000 bytes in 1000 ms, 16000 kbit/s (10.0.2.2 port 40000)
iperf: nic: virtio-net: rx 10 frames, 0 dropped; tx 5 frames (0 fragments sent in place); rx buffers posted 64, kicks rx 1 tx 5 (0 suppressed), interrupts 10, polls 10, parks 10
iperf: received 4000000 bytes in 1000 ms, 32000 kbit/s (10.0.2.2 port 40002)
iperf: nic: virtio-net: rx 2800 frames, 1 dropped; tx 1400 frames (0 fragments sent in place); rx buffers posted 2864, kicks rx 40 tx 1400 (2800 suppressed), interrupts 700, polls 1400, parks 700
"""


def test_nic_profile_per_mb_from_the_last_counter_line() -> None:
    p = appliances.parse_nic_profile(NIC_CONSOLE, 4_000_000)
    assert p["rx_kicks_per_mb"] == 10.0
    assert p["irqs_per_mb"] == 175.0
    assert p["rx_posted_per_mb"] == 716.0
    assert p["suppressed_per_mb"] == 700.0
    assert (p["frames_per_irq"], p["frames_per_poll"]) == (4.0, 2.0)
    samples = [_sample("iperf", "iperf receive", 0.5, 100, bytes=4_000_000, mbit_s=3.2, nic=p)]
    assert "| irqs_per_mb | 175.00 |" in appliances.render_nic_profile(samples)
    assert appliances.render_nic_profile([]) == ""
    with pytest.raises(appliances.BenchError, match="no virtio-net counters"):
        appliances.parse_nic_profile("iperf: received 1 bytes in 1 ms, 8 kbit/s (10.0.2.2 port 1)\n", 1)


def test_xen_iperf_rows_from_results(tmp_path: Path) -> None:
    """dom0-bench.sh's iperf CSVs: receive is the report for the guest's
    port 5001, send the one for dom0's port 5002 (Linux's -r run has both)."""
    results, images = _results(tmp_path)
    with (results / "bench.txt").open("a") as f:
        f.write("iperf ready_s 0.40\niperf mem_mib 129\nlinux-iperf ready_s 8.00\nlinux-iperf mem_mib 128\n")
    (results / "bench-iperf.recv.txt").write_text("20261206214000,10.0.0.1,40000,10.0.0.50,5001,3,0.0-10.0,500000000,400000000\n")
    (results / "bench-iperf.send.txt").write_text("20261206214000,10.0.0.1,5002,10.0.0.50,49153,4,0.0-10.0,250000000,200000000\n")
    (results / "bench-linux-iperf.recv.txt").write_text("20261206214000,10.0.0.1,40002,10.0.0.50,5001,3,0.0-10.0,500000000,800000000\n")
    (results / "bench-linux-iperf.send.txt").write_text(
        "20261206214000,10.0.0.1,40004,10.0.0.50,5001,3,0.0-10.0,900000000,720000000\n"
        "20261206214010,10.0.0.1,49999,10.0.0.50,5002,4,0.0-10.0,312500000,250000000\n"
    )
    r = xen_appliances.load(results, images, [10])
    rows = {row.what: row for row in xen_appliances.table(r, [10])}
    recv, send = rows["iperf/Linux iperf 2 TCP receive, 10 s"], rows["iperf/Linux iperf 2 TCP send, 10 s"]
    assert (recv.ours, recv.theirs, recv.ratio, recv.target) == (400.0, 800.0, 0.5, ">= 1.0")
    assert (send.ours, send.theirs, send.ratio, send.target) == (200.0, 250.0, 0.8, ">= 0.9")
    assert rows["iperf/linux-iperf xl create to listening (console)"].ratio == 0.05
    verdicts = xen_appliances.verdicts(list(rows.values()))
    assert "iperf/Linux iperf 2 TCP receive, 10 s: ratio 0.500, target >= 1.0: missed" in verdicts
    assert "iperf/Linux iperf 2 TCP send, 10 s: ratio 0.800, target >= 0.9: missed" in verdicts
    # A run that printed no report for its port is a note and a NaN, not a crash.
    (results / "bench-iperf.send.txt").write_text("connect failed: Connection refused\n")
    r = xen_appliances.load(results, images, [10])
    send = {row.what: row for row in xen_appliances.table(r, [10])}["iperf/Linux iperf 2 TCP send, 10 s"]
    assert send.ours != send.ours and send.theirs == 250.0
    assert "iperf iperf send: no report for port 5002 (connect failed: Connection refused)" in r.notes
    # Only the iperf sides ran (--sides iperf,linux-iperf): no empty httpd rows.
    only = tmp_path / "only"
    only.mkdir()
    (only / "bench.txt").write_text("iperf ready_s 0.40\nlinux-iperf ready_s 8.00\n")
    (results / "bench-iperf.recv.txt").rename(only / "bench-iperf.recv.txt")
    whats = [row.what for row in xen_appliances.table(xen_appliances.load(only, images, [10]), [10])]
    assert whats[0] == "iperf/Linux iperf 2 TCP receive, 10 s" and not any(w.startswith("httpd") for w in whats)


def test_xen_sides_argument(capsys: pytest.CaptureFixture[str]) -> None:
    assert xen_appliances.parse_args(["--sides", "iperf,linux-iperf"]).sides == ["iperf", "linux-iperf"]
    assert xen_appliances.parse_args([]).sides == []
    with pytest.raises(SystemExit):
        xen_appliances.parse_args(["--sides", "iperf,nope"])
    assert "--sides: unknown side 'nope'" in capsys.readouterr().err


def test_xen_blk_sides_from_consoles(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The block sides' consoles (xenconsoled's logs, \\r\\n) into one table;
    a side that stopped early, or whose fio JSON was cut, is a note."""
    results, images = tmp_path / "results", tmp_path / "share/images"
    results.mkdir(parents=True)
    images.mkdir(parents=True)
    (results / "bench.txt").write_text(
        "blk-write_back_lru xl_create_s 0.3\nblk-write_back_lru done_s 9.0\n"
        "blk-none done_s 12.0\nlinux-fio-direct done_s 30.0\n"
        "linux-fio-buffered error no end of the phases on the console within 600 s of xl create\n"
        "blk-write_through_lru done_s 9.0\n"
    )
    (results / "bench-blk-write_back_lru.console.log").write_text(CONSOLE.replace("\n", "\r\n"))
    (results / "bench-blk-none.console.log").write_text(CONSOLE.replace("BLKBENCH done 0\n", ""))
    jobs = [_fio_job(p, p.endswith("write"), 8 << 20, 1000) for p in blk.PHASES]
    (results / "bench-linux-fio-direct.console.log").write_text(
        "BENCH: fio disk /dev/xvda\r\nBENCH: fio-json-begin\r\n" + json.dumps({"jobs": jobs}) + "\r\nBENCH: fio-json-end\r\n"
    )
    (results / "bench-linux-fio-buffered.console.log").write_text(
        "BENCH: fio-json-begin\r\n" + json.dumps({"jobs": jobs})[:40] + "\r\nBENCH: fio-json-end\r\n"
    )
    r = xen_appliances.load(results, images, [10])
    assert [(p.run, p.phase) for p in r.blk] == [("blk-write_back_lru", ph) for ph in blk.PHASES] + [
        ("linux-fio-direct", ph) for ph in blk.PHASES
    ]
    assert r.blk[0].mib_s == 4.0 and r.blk[5].mib_s == 8.0
    assert "blk-none: blk-none: the image did not finish its phases; its console ends:" in r.notes
    assert any(n.startswith("linux-fio-buffered: linux-fio-buffered: fio's JSON is unreadable") for n in r.notes)
    assert "blk-write_through_lru: no console log bench-blk-write_through_lru.console.log" in r.notes
    assert xen_appliances.table(r, [10]) == []
    assert xen_appliances.main(["--results", str(results), "--concurrency", "10", "--json", str(tmp_path / "x.json")]) == 0
    out = capsys.readouterr().out
    assert "| phase | blk-write_back_lru | linux-fio-direct |" in out
    assert "| seqwrite | 4.00 MiB/s, 344/7982 us | 8.00 MiB/s, 2/9 us |" in out
    assert "| measure | ours | Linux |" not in out  # no empty appliance table
    doc = json.loads((tmp_path / "x.json").read_text())
    assert len(doc["blk"]) == 10


def test_xen_blk_sides_argument() -> None:
    assert xen_appliances.parse_args(["--sides", "blk"]).sides == list(xen_appliances.BLK_SIDES)
    assert xen_appliances.parse_args(["--sides", "blk-none,linux-fio-direct"]).sides == ["blk-none", "linux-fio-direct"]
    assert "blk-write_back_two_q" in xen_appliances.BLK_SIDES and "linux-fio-buffered" in xen_appliances.BLK_SIDES


# ---- the profile on Xen (xen_profile.py, xentrace.py) ------------------------

from bench import xen_profile, xentrace  # noqa: E402


def _snap(t: float, dom_s: float, dom0_s: float, irqs: int, tx: tuple[int, int], rx: tuple[int, int], ring: dict[str, int]) -> str:
    rings = (
        f"-- /sys/kernel/debug/xen-netback/vif3.0/io_ring_q0\nQueue 0\nTX: nr_ents 256\n"
        f"req prod {ring['tx_req']} (0) cons 0 (0) event 1 (0)\nrsp prod {ring['tx_rsp']} (base) pvt 0 (0) event 1 (0)\n"
        f"pending prod 0 pending cons 0 nr_pending_reqs 0\n\nRX: nr_ents 256\n"
        f"req prod {ring['rx_req']} (0) cons 0 (0) event 1 (0)\nrsp prod {ring['rx_rsp']} (base) pvt 0 (0) event 1 (0)\n\n"
        "NAPI state: 0 NAPI weight: 64 TX queue len 0\n"
    )
    return (
        f"== time {t}\n== vcpu-list\nName                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)\n"
        f"Domain-0                             0     0    1   r--     {dom0_s / 2:.1f}  all / all\n"
        f"Domain-0                             0     1    0   -b-     {dom0_s / 2:.1f}  all / all\n"
        f"bench-dns                            3     0    0   -b-     {dom_s:.1f}  all / all\n"
        f"== interrupts\n 64:  {irqs}  0  xen-dyn    -event     vif3.0-q0\n"
        f"== vif\nvif3.0 rx_packets={rx[0]} rx_bytes={rx[1]} tx_packets={tx[0]} tx_bytes={tx[1]} rx_dropped=0 tx_dropped=1 \n"
        f"== io_ring\n{rings}"
    )


def test_profile_phase_per_query(tmp_path: Path) -> None:
    before = _snap(100.0, 2.0, 10.0, 50, (10, 1000), (10, 900), {"tx_req": 4294967290, "tx_rsp": 0, "rx_req": 256, "rx_rsp": 0})
    after = _snap(110.0, 6.0, 30.0, 1050, (2010, 161000), (2010, 180900), {"tx_req": 2010 - 6, "tx_rsp": 0, "rx_req": 2256, "rx_rsp": 2000})
    (tmp_path / "bench-dns.prof-load0.txt").write_text(before)
    (tmp_path / "bench-dns.prof-load1.txt").write_text(after)
    (tmp_path / "bench-dns.dnsperf.txt").write_text(DNSPERF_OUT.replace("1490", "2000"))
    [p] = xen_profile.read_phases(tmp_path, "dns")
    assert (p.unit, p.units, p.seconds) == ("query", 2000.0, 10.0)
    assert p.per(p.guest_cpu_s * 1000) == pytest.approx(2.0)  # 4 s of vcpu over 2000 queries
    assert p.per(p.dom0_cpu_s * 1000) == pytest.approx(10.0)
    assert p.per(p.notifications) == 0.5
    assert (p.to_guest_packets, p.from_guest_packets) == (2000, 2000)
    assert p.tx_req == 2010  # the ring index wrapped past 2^32
    assert (p.rx_req, p.rx_rsp, p.dropped) == (2000, 2000, 0)
    table = xen_profile.render_phases([p], {"dns": {"hypercalls": 9000.0, "hc.event_channel_op.send": 2100.0}})
    assert "| guest CPU ms per unit" in table and "dns load" in table
    assert "dns (its own counters, whole life): hypercalls 9000, hc.event_channel_op.send 2100" in table


def test_profile_phase_per_mb_without_a_before_vif() -> None:
    # ours' send: the first snapshot right after xl create, before netback has a ring
    before = xen_profile.parse_snapshot("== time 5.0\n== vcpu-list\n== interrupts\n== vif\n== io_ring\n")
    after = xen_profile.parse_snapshot(_snap(15.0, 3.0, 5.0, 100, (5000, 300000), (20000, 29700000), {"tx_req": 20000, "tx_rsp": 0, "rx_req": 5256, "rx_rsp": 5000}))
    p = xen_profile.phase("dns", "send", before, after, None)
    assert p.unit == "MB" and p.units == pytest.approx(30.0)
    assert p.per(p.guest_cpu_s * 1000) == pytest.approx(100.0)


GUEST_CONSOLE = """\
[xen] control: poweroff requested by the toolstack
[xen] profile: hypercalls 5012: 15.3 1, 15.15 4, 24.8 900, 29.1 800, 32.4 3300, 34.1 7
[evtchn] upcalls 1700 (interrupts 1650), events 4100, handled 4000, spurious 0, thread waits 3000, woken 2900, timeouts 100, domain blocks 0
[xen] profile: netfront: rx 2500 frames: 2500 lent (no copy), 0 copied, 0 dropped; tx 2400 frames in 4800 slots
"""


def test_guest_counters_from_the_console() -> None:
    g = xen_profile.guest_counters(GUEST_CONSOLE)
    assert g["hypercalls"] == 5012 and g["hc.event_channel_op.send"] == 3300 and g["hc.sched_op.block"] == 800
    assert g["hc.set_timer_op"] == 5 and g["hc.vcpu_op.set_singleshot_timer"] == 900 and g["hc.hvm_op.get_param"] == 7
    assert (g["upcalls"], g["upcall_interrupts"], g["events"]) == (1700, 1650, 4100)
    assert (g["nf.rx_frames"], g["nf.tx_frames"], g["nf.tx_slots"]) == (2500, 2400, 4800)
    assert xen_profile.guest_counters("Linux version 6.1\n") == {}


def _rec(event: int, extra: list[int], tsc: int | None = None) -> bytes:
    hdr = event | (len(extra) << 28) | ((1 << 31) if tsc is not None else 0)
    body = struct.pack("<I", hdr)
    if tsc is not None:
        body += struct.pack("<II", tsc & 0xFFFFFFFF, tsc >> 32)
    return body + struct.pack(f"<{len(extra)}I", *extra)


def _chunk(cpu: int, recs: bytes) -> bytes:
    return _rec(xentrace.TRC_TRACE_CPU_CHANGE, [cpu, len(recs)]) + recs


def _running(dom: int, vcpu: int, old: int, tsc: int) -> bytes:
    # the new state in the low nibble (the layout the reader must find)
    return _rec(xentrace.TRC_SCHED_RUNSTATE_CHANGE, [dom << 16 | vcpu, old << 4 | 0], tsc)


def _off(dom: int, vcpu: int, new: int, tsc: int) -> bytes:
    return _rec(xentrace.TRC_SCHED_RUNSTATE_CHANGE, [dom << 16 | vcpu, 0 << 4 | new], tsc)


def test_xentrace_counts_exits_and_hypercalls_per_domain(tmp_path: Path) -> None:
    cpu0 = (
        _running(5, 0, 1, 100)
        + _rec(xentrace.TRC_HVM_VMEXIT | xentrace.TRC_64_FLAG, [0x4E, 0x1000, 0], 110)  # #PF (shadow paging)
        + _rec(xentrace.TRC_HVM_VMEXIT | xentrace.TRC_64_FLAG, [0x4E, 0x1000, 0], 120)
        + _rec(xentrace.TRC_HVM_VMEXIT | xentrace.TRC_64_FLAG, [0x81, 0x2000, 0], 130)  # vmmcall
        + _rec(xentrace.TRC_HVM_VMEXIT, [0x78, 0x3000], 140)  # hlt
        + _off(5, 0, 2, 150)
        + _running(0, 0, 2, 160)
        + _rec(xentrace.TRC_PV_HYPERCALL_V2, [29 | (1 << 20), 1], 170)  # dom0: sched_op
        + _rec(xentrace.TRC_PV_TRAP | xentrace.TRC_64_FLAG, [0, 0, 0], 175)
        + _off(0, 0, 2, 180)
        + _running(5, 0, 2, 190)
        + _rec(xentrace.TRC_HVM_VMEXIT | xentrace.TRC_64_FLAG | xentrace.TRC_HVM_NESTEDFLAG, [0x13, 0, 0], 195)  # cr3 write
    )
    cpu1 = (
        _rec(xentrace.TRC_PV_HYPERCALL_V2, [32], 105)  # before any runstate: whose?
        + _rec(xentrace.TRC_LOST_RECORDS, [7, 0, 0, 0], 106)
        + _running(0, 1, 1, 107)
        + _rec(xentrace.TRC_PV_HYPERCALL_V2, [32 | (1 << 20), 4], 108)
        + _rec(xentrace.TRC_PV_PAGE_FAULT | xentrace.TRC_64_FLAG, [0, 0, 0, 0], 109)
    )
    f = tmp_path / "t.bin"
    f.write_bytes(_chunk(0, cpu0) + _chunk(1, cpu1))
    d = xentrace.as_dict(xentrace.read(f))
    assert d["lost_records"] == 7 and d["unattributed"] == 1 and d["cycles"] == 95
    g = d["domains"]["5"]
    assert g["vmexits"] == {"exception_pf": 2, "vmmcall": 1, "hlt": 1, "cr3_write": 1}
    assert g["scheduled_in"] == 2 and g["hypercalls_total"] == 0
    dom0 = d["domains"]["0"]
    assert dom0["hypercalls"] == {"event_channel_op": 1, "sched_op": 1}
    assert (dom0["pv_traps"], dom0["pv_page_faults"], dom0["vmexits_total"]) == (1, 1, 0)
    assert xentrace.main([str(f)]) == 0


def test_xentrace_xen_4_17_runstate_and_switch_records(tmp_path: Path) -> None:
    # Xen 4.17: the states in the event (old in bits 8-11, new in 4-7), one word dom << 16 | vcpu
    def runstate(old: int, new: int, dom: int, tsc: int) -> bytes:
        return _rec(xentrace.TRC_SCHED_RUNSTATE_CHANGE | old << 8 | new << 4, [dom << 16], tsc)

    cpu0 = (
        runstate(1, 0, 7, 10)  # domain 7 runs
        + _rec(xentrace.TRC_HVM_VMEXIT | xentrace.TRC_64_FLAG, [0x6E, 0, 0], 11)  # rdtsc
        + runstate(0, 2, 7, 12)
        + _rec(xentrace.TRC_SCHED_SWITCH, [7, 0, 0, 0], 13)  # 7 -> dom0
        + _rec(xentrace.TRC_PV_EMULATE_PRIVOP | xentrace.TRC_64_FLAG, [0, 0], 14)
        + _rec(xentrace.TRC_SCHED_SWITCH, [0, 0, 7, 0], 15)  # dom0 -> 7, no runstate record
        + _rec(xentrace.TRC_HVM_VMEXIT | xentrace.TRC_64_FLAG, [0x6E, 0, 0], 16)
    )
    f = tmp_path / "t417.bin"
    f.write_bytes(_chunk(0, cpu0))
    d = xentrace.as_dict(xentrace.read(f))
    assert d["domains"]["7"]["vmexits"] == {"rdtsc": 2} and d["domains"]["7"]["scheduled_in"] == 1
    assert d["domains"]["0"]["pv_emulated_privops"] == 1 and d["unattributed"] == 0


def test_xentrace_bad_files_are_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(xentrace.TraceError, match="cpu change record"):
        xentrace.records(_rec(xentrace.TRC_HVM_VMEXIT, [0x78, 0]))
    with pytest.raises(xentrace.TraceError, match="cut short"):
        xentrace.records(_chunk(0, _rec(xentrace.TRC_HVM_VMEXIT, [0x78, 0]))[:-3])
    assert xentrace.main([str(tmp_path / "none.bin")]) == 1
    assert "cannot read" in capsys.readouterr().err
    assert xentrace.exit_name(0x4E) == "exception_pf" and xentrace.exit_name(0x400) == "npf"
    assert xentrace.exit_name(0x13) == "cr3_write" and xentrace.exit_name(0x3) == "cr3_read"


def test_xen_rounds_take_medians_and_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = [appliances.Row("x", 1.0, 2.0, "u", ">= 1.0", True), appliances.Row("y", 5.0, float("nan"), "u", "(none)", False)]
    b = [appliances.Row("x", 3.0, 2.0, "u", ">= 1.0", True)]
    c = [appliances.Row("x", 2.0, 4.0, "u", ">= 1.0", True), appliances.Row("y", 7.0, 1.0, "u", "(none)", False)]
    rows = {r.what: r for r in xen_appliances.median_rows([a, b, c])}
    assert (rows["x"].ours, rows["x"].theirs) == (2.0, 2.0)
    assert (rows["y"].ours, rows["y"].theirs) == (6.0, 1.0)  # a round without the figure is left out
    # two rounds from --results: the table has the medians, the JSON each round
    r1, _ = _results(tmp_path / "one")
    r2, _ = _results(tmp_path / "two")
    (r2 / "bench-httpd.ab-c10.txt").write_text(AB_OUT.replace("200.12", "400.12"))
    assert xen_appliances.main(["--results", f"{r1},{r2}", "--concurrency", "10", "--json", str(tmp_path / "x.json")]) == 0
    out = capsys.readouterr().out
    assert "medians of 2 rounds" in out and "| httpd/nginx requests/s, ab c=10 | 300.12 |" in out
    doc = json.loads((tmp_path / "x.json").read_text())
    assert [round(r["rows"][0]["ours"], 2) for r in doc["per_round"]] == [200.12, 400.12]
    # every side failed: exit 1 (it used to be 0)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "bench.txt").write_text("dns error xl create failed: x\nnsd error no answer\ndom0 loadavg 1,1,1\n")
    assert xen_appliances.main(["--results", str(bad), "--json", str(tmp_path / "y.json")]) == 1
    assert "every side failed" in capsys.readouterr().err


def test_profile_above_idle(tmp_path: Path) -> None:
    ring = {"tx_req": 0, "tx_rsp": 0, "rx_req": 0, "rx_rsp": 0}
    # idle: 5 s in which dom0 used 1 s and the guest 0.5 s
    (tmp_path / "bench-dns.prof-idle0.txt").write_text(_snap(0.0, 1.0, 10.0, 0, (0, 0), (0, 0), ring))
    (tmp_path / "bench-dns.prof-idle1.txt").write_text(_snap(5.0, 1.5, 11.0, 0, (0, 0), (0, 0), ring))
    # load: 10 s, 1000 queries, dom0 12 s, the guest 3 s
    (tmp_path / "bench-dns.prof-load0.txt").write_text(_snap(10.0, 2.0, 12.0, 0, (0, 0), (0, 0), ring))
    (tmp_path / "bench-dns.prof-load1.txt").write_text(_snap(20.0, 5.0, 24.0, 0, (1000, 0), (1000, 0), ring))
    (tmp_path / "bench-dns.dnsperf.txt").write_text(DNSPERF_OUT.replace("1490", "1000"))
    idle, load = xen_profile.read_phases(tmp_path, "dns")
    assert (idle.phase, idle.unit, idle.units) == ("idle", "s", 5.0)
    assert load.idle_guest == pytest.approx(0.1) and load.idle_dom0 == pytest.approx(0.2)
    assert load.above_idle(load.guest_cpu_s, load.idle_guest) == pytest.approx(2.0)  # (3 - 1) s / 1000
    assert load.above_idle(load.dom0_cpu_s, load.idle_dom0) == pytest.approx(10.0)  # (12 - 2) s / 1000


def test_xen_xl_cfg_argument(capsys: pytest.CaptureFixture[str]) -> None:
    assert xen_appliances.parse_args(["--xl-cfg", 'tsc_mode = "native"']).xl_cfg == ['tsc_mode = "native"']
    with pytest.raises(SystemExit):
        xen_appliances.parse_args(["--xl-cfg", "native"])
    assert "KEY = VALUE" in capsys.readouterr().err
