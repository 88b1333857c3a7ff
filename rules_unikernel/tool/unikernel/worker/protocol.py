"""Bazel's persistent-worker messages in protocol buffers' wire format.

Bazel 4.2.3 speaks length-delimited protocol buffers to its workers (JSON
needs --experimental_worker_allow_json_protocol there), so this module
encodes and decodes the few fields the link tool needs, from
src/main/protobuf/worker_protocol.proto:

    WorkRequest  { repeated string arguments = 1; repeated Input inputs = 2;
                   int32 request_id = 3; bool cancel = 4; }
    WorkResponse { int32 exit_code = 1; string output = 2; int32 request_id = 3;
                   bool was_cancelled = 4; }

Each message on the stream is preceded by its length as a varint. Fields
this module does not know (later Bazels add ``verbosity``, ``sandbox_dir``)
are skipped, as protocol buffers require; malformed bytes raise
``ProtocolError`` and are never guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

# Larger than any command line a link has, small enough that a corrupt
# length cannot make the worker allocate gigabytes.
MAX_MESSAGE = 64 << 20

_VARINT, _FIXED64, _LENGTH, _START_GROUP, _END_GROUP, _FIXED32 = 0, 1, 2, 3, 4, 5
_MAX_VARINT_BYTES = 10
_UINT64 = (1 << 64) - 1


class ProtocolError(Exception):
    """The byte stream is not a valid sequence of worker messages."""


@dataclass(frozen=True)
class WorkRequest:
    arguments: tuple[str, ...] = ()
    request_id: int = 0
    cancel: bool = False


@dataclass(frozen=True)
class WorkResponse:
    exit_code: int = 0
    output: str = ""
    request_id: int = 0
    was_cancelled: bool = False


def encode_varint(value: int) -> bytes:
    """Base-128 varint of an unsigned 64-bit value."""
    if not 0 <= value <= _UINT64:
        raise ValueError(f"varint out of range: {value}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(data: bytes, pos: int) -> tuple[int, int]:
    """The varint at ``data[pos:]`` and the position after it."""
    value = 0
    for index in range(_MAX_VARINT_BYTES):
        if pos + index >= len(data):
            raise ProtocolError("truncated varint")
        byte = data[pos + index]
        value |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            if value > _UINT64:
                raise ProtocolError("varint exceeds 64 bits")
            return value, pos + index + 1
    raise ProtocolError(f"varint longer than {_MAX_VARINT_BYTES} bytes")


def _int32(value: int) -> int:
    """A varint field's value as protocol buffers' int32 (the low 32 bits, signed)."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _encode_int32(field: int, value: int) -> bytes:
    if not -(1 << 31) <= value < (1 << 31):
        raise ValueError(f"int32 out of range: {value}")
    # Negative int32 values are sign-extended to 64 bits on the wire.
    return _tag(field, _VARINT) + encode_varint(value & _UINT64)


def _tag(field: int, wire_type: int) -> bytes:
    return encode_varint(field << 3 | wire_type)


def _encode_string(field: int, text: str) -> bytes:
    raw = text.encode("utf-8")
    return _tag(field, _LENGTH) + encode_varint(len(raw)) + raw


@dataclass(frozen=True)
class _Field:
    number: int
    wire_type: int
    value: int = 0  # varint and fixed-size fields
    data: bytes = b""  # length-delimited fields


def _fields(body: bytes) -> list[_Field]:
    """The fields of one message, in order; unknown ones included, groups refused."""
    fields = []
    pos = 0
    while pos < len(body):
        key, pos = decode_varint(body, pos)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise ProtocolError("field number 0")
        if wire_type == _VARINT:
            value, pos = decode_varint(body, pos)
            fields.append(_Field(number, wire_type, value=value))
        elif wire_type in (_FIXED64, _FIXED32):
            size = 8 if wire_type == _FIXED64 else 4
            if pos + size > len(body):
                raise ProtocolError(f"truncated fixed-size field {number}")
            value = int.from_bytes(body[pos : pos + size], "little")
            fields.append(_Field(number, wire_type, value=value))
            pos += size
        elif wire_type == _LENGTH:
            size, pos = decode_varint(body, pos)
            if size > len(body) - pos:
                raise ProtocolError(f"field {number} runs past the end of its message")
            fields.append(_Field(number, wire_type, data=body[pos : pos + size]))
            pos += size
        elif wire_type in (_START_GROUP, _END_GROUP):
            raise ProtocolError(f"field {number}: groups are not part of the worker protocol")
        else:
            raise ProtocolError(f"field {number}: invalid wire type {wire_type}")
    return fields


def _expect(field: _Field, wire_type: int, message: str, name: str) -> None:
    if field.wire_type != wire_type:
        raise ProtocolError(f"{message}.{name} (field {field.number}) has wire type {field.wire_type}")


def _text(field: _Field, message: str, name: str) -> str:
    _expect(field, _LENGTH, message, name)
    try:
        return field.data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ProtocolError(f"{message}.{name} is not UTF-8: {error.reason} at byte {error.start}") from None


def _number(field: _Field, message: str, name: str) -> int:
    _expect(field, _VARINT, message, name)
    return field.value


def decode_request(body: bytes) -> WorkRequest:
    arguments: list[str] = []
    request_id, cancel = 0, False
    for field in _fields(body):
        if field.number == 1:
            arguments.append(_text(field, "WorkRequest", "arguments"))
        elif field.number == 2:
            # The inputs and their digests: the link reads exactly the files its
            # arguments name, so only the field's shape is checked.
            _expect(field, _LENGTH, "WorkRequest", "inputs")
            _fields(field.data)
        elif field.number == 3:
            request_id = _int32(_number(field, "WorkRequest", "request_id"))
        elif field.number == 4:
            cancel = _number(field, "WorkRequest", "cancel") != 0
    return WorkRequest(tuple(arguments), request_id, cancel)


def encode_request(request: WorkRequest) -> bytes:
    """The message body (what Bazel sends; for tests and benchmarks)."""
    out = b"".join(_encode_string(1, argument) for argument in request.arguments)
    if request.request_id:
        out += _encode_int32(3, request.request_id)
    if request.cancel:
        out += _tag(4, _VARINT) + b"\x01"
    return out


def encode_response(response: WorkResponse) -> bytes:
    """The message body; fields at their default value are left out, as proto3 does."""
    out = b""
    if response.exit_code:
        out += _encode_int32(1, response.exit_code)
    if response.output:
        out += _encode_string(2, response.output)
    if response.request_id:
        out += _encode_int32(3, response.request_id)
    if response.was_cancelled:
        out += _tag(4, _VARINT) + b"\x01"
    return out


def decode_response(body: bytes) -> WorkResponse:
    exit_code, output, request_id, cancelled = 0, "", 0, False
    for field in _fields(body):
        if field.number == 1:
            exit_code = _int32(_number(field, "WorkResponse", "exit_code"))
        elif field.number == 2:
            output = _text(field, "WorkResponse", "output")
        elif field.number == 3:
            request_id = _int32(_number(field, "WorkResponse", "request_id"))
        elif field.number == 4:
            cancelled = _number(field, "WorkResponse", "was_cancelled") != 0
    return WorkResponse(exit_code, output, request_id, cancelled)


def read_message(stream: BinaryIO) -> bytes | None:
    """The next length-delimited message body, or None at a clean end of the stream."""
    length = 0
    for index in range(_MAX_VARINT_BYTES):
        byte = stream.read(1)
        if not byte:
            if index == 0:
                return None
            raise ProtocolError("the stream ended inside a message length")
        length |= (byte[0] & 0x7F) << (7 * index)
        if not byte[0] & 0x80:
            break
    else:
        raise ProtocolError(f"message length longer than {_MAX_VARINT_BYTES} bytes")
    if length > MAX_MESSAGE:
        raise ProtocolError(f"message of {length} bytes exceeds the limit of {MAX_MESSAGE}")
    body = bytearray()
    while len(body) < length:
        chunk = stream.read(length - len(body))
        if not chunk:
            raise ProtocolError(f"the stream ended after {len(body)} of a message's {length} bytes")
        body += chunk
    return bytes(body)


def write_message(stream: BinaryIO, body: bytes) -> None:
    stream.write(encode_varint(len(body)) + body)
    stream.flush()


def read_request(stream: BinaryIO) -> WorkRequest | None:
    body = read_message(stream)
    return None if body is None else decode_request(body)


def write_response(stream: BinaryIO, response: WorkResponse) -> None:
    write_message(stream, encode_response(response))
