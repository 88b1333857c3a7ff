"""The worker protocol's wire format: exact bytes, round trips and malformed input."""

from __future__ import annotations

import contextlib
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unikernel.worker import params
from unikernel.worker.protocol import (
    MAX_MESSAGE,
    ProtocolError,
    WorkRequest,
    WorkResponse,
    decode_request,
    decode_response,
    decode_varint,
    encode_request,
    encode_response,
    encode_varint,
    read_message,
    read_request,
    write_response,
)

INT32 = st.integers(min_value=-(1 << 31), max_value=(1 << 31) - 1)


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (0, b"\x00"),
        (1, b"\x01"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (300, b"\xac\x02"),
        ((1 << 64) - 1, b"\xff" * 9 + b"\x01"),
    ],
)
def test_varint_bytes(value, wire):
    assert encode_varint(value) == wire
    assert decode_varint(wire, 0) == (value, len(wire))


@given(st.integers(min_value=0, max_value=(1 << 64) - 1))
def test_varint_round_trip(value):
    wire = encode_varint(value)
    assert decode_varint(b"\x99" + wire + b"\x01", 1) == (value, 1 + len(wire))


def test_request_as_bazel_encodes_it():
    # arguments "--ld", "x"; an Input {path "a", digest "\x01"}; request_id 7;
    # then verbosity = 5 (field 5, newer Bazels), which must be skipped.
    body = b"\x0a\x04--ld\x0a\x01x\x12\x06\x0a\x01a\x12\x01\x01\x18\x07\x28\x0a"
    assert decode_request(body) == WorkRequest(("--ld", "x"), 7)


def test_response_bytes():
    assert encode_response(WorkResponse()) == b""
    assert encode_response(WorkResponse(1, "no", 3)) == b"\x08\x01\x12\x02no\x18\x03"
    # A negative int32 is sign-extended to ten bytes.
    assert encode_response(WorkResponse(exit_code=-1)) == b"\x08" + b"\xff" * 9 + b"\x01"


@given(
    st.lists(st.text(), max_size=5).map(tuple),
    INT32,
    st.booleans(),
)
def test_request_round_trip(arguments, request_id, cancel):
    request = WorkRequest(arguments, request_id, cancel)
    assert decode_request(encode_request(request)) == request


@given(INT32, st.text(), INT32, st.booleans())
def test_response_round_trip(exit_code, output, request_id, cancelled):
    response = WorkResponse(exit_code, output, request_id, cancelled)
    assert decode_response(encode_response(response)) == response


def test_stream_of_messages():
    stream = io.BytesIO()
    write_response(stream, WorkResponse(0, "a", 1))
    write_response(stream, WorkResponse(2, "b" * 300, 2))
    stream.seek(0)
    first, second = read_message(stream), read_message(stream)
    assert first is not None and second is not None
    assert decode_response(first) == WorkResponse(0, "a", 1)
    assert decode_response(second) == WorkResponse(2, "b" * 300, 2)
    assert read_message(stream) is None


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b"\x0a", "truncated varint"),  # a tag without its length
        (b"\x0a\x05ab", "runs past the end"),
        (b"\x18" + b"\xff" * 10 + b"\x01", "longer than 10 bytes"),
        (b"\x18" + b"\xff" * 9 + b"\x7f", "exceeds 64 bits"),
        (b"\x08\x01", "arguments (field 1) has wire type 0"),
        (b"\x1a\x00", "request_id (field 3) has wire type 2"),
        (b"\x0a\x02\xc3\x28", "not UTF-8"),
        (b"\x0b", "groups are not part"),
        (b"\x0e", "invalid wire type 6"),
        (b"\x00\x00", "field number 0"),
        (b"\x29\x01\x02", "truncated fixed-size field 5"),
        (b"\x12\x02\x0a\x05", "runs past the end"),  # a malformed Input inside the request
    ],
)
def test_malformed_requests_are_refused(body, complaint):
    with pytest.raises(ProtocolError) as raised:
        decode_request(body)
    if complaint is not None:
        assert complaint in str(raised.value)


def test_unknown_fields_of_every_wire_type_are_skipped():
    unknown = b"\x28\x96\x01" + b"\x31" + bytes(8) + b"\x3a\x03abc" + b"\x45" + bytes(4)
    assert decode_request(unknown + b"\x0a\x01z") == WorkRequest(("z",))


@pytest.mark.parametrize(
    ("stream", "complaint"),
    [
        (b"\x85", "ended inside a message length"),
        (b"\x05ab", "ended after 2 of a message's 5 bytes"),
        (b"\xff" * 11, "longer than 10 bytes"),
        (encode_varint(MAX_MESSAGE + 1), "exceeds the limit"),
    ],
)
def test_malformed_streams_are_refused(stream, complaint):
    with pytest.raises(ProtocolError, match=complaint):
        read_request(io.BytesIO(stream))


@given(st.binary(max_size=64))
def test_arbitrary_bytes_decode_or_raise_protocol_error(body):
    # Anything but a ProtocolError (an IndexError, a hang) fails the test.
    with contextlib.suppress(ProtocolError):
        decode_request(body)


def test_params_file_expands_only_alone(tmp_path):
    path = tmp_path / "link.params"
    path.write_text("--seed=@repo//app:image\n--input\n@repo//libos/boot:boot=x.a\n")
    assert params.expand([f"@{path}"]) == ["--seed=@repo//app:image", "--input", "@repo//libos/boot:boot=x.a"]
    # Inside a longer command line, an argument starting with @ is a value.
    assert params.expand(["--input", "@repo//a:b=x.a"]) == ["--input", "@repo//a:b=x.a"]
    assert params.expand(["@"]) == ["@"]
    with pytest.raises(params.ParamsFileError, match="cannot read the params file"):
        params.expand([f"@{tmp_path / 'missing'}"])
