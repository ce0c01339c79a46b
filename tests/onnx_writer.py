"""A hand-encoded ONNX model, so that the ONNX encoder is tested even without the ``onnx`` package.

:func:`global_pool_model` writes ``x (N, 3, H, W) -> GlobalAveragePool -> Flatten -> y (N, 3)``:
the output is the per-channel mean of the (normalised) input, easy to check by hand. The bytes
are the protobuf wire format of ``onnx.ModelProto`` (field numbers from onnx.proto3).
"""

from __future__ import annotations

from pathlib import Path


def _varint(n: int) -> bytes:
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return _varint((field << 3) | wire)


def _int(field: int, value: int) -> bytes:
    return _key(field, 0) + _varint(value)


def _bytes(field: int, value: bytes | str) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return _key(field, 2) + _varint(len(data)) + data


def _value_info(name: str, dims: list[int | str]) -> bytes:
    shape = b"".join(_bytes(1, _int(1, d) if isinstance(d, int) else _bytes(2, d)) for d in dims)
    tensor_type = _int(1, 1) + _bytes(2, shape)  # elem_type FLOAT = 1
    return _bytes(1, name) + _bytes(2, _bytes(1, tensor_type))


def _node(op: str, inputs: list[str], outputs: list[str], attrs: bytes = b"") -> bytes:
    return b"".join(_bytes(1, i) for i in inputs) + b"".join(_bytes(2, o) for o in outputs) + _bytes(4, op) + attrs


def global_pool_model(path: Path, height: int | str = "H", width: int | str = "W") -> Path:
    flatten_axis = _bytes(5, _bytes(1, "axis") + _int(20, 2) + _int(3, 1))  # AttributeProto INT axis=1
    graph = (
        _bytes(1, _node("GlobalAveragePool", ["x"], ["p"]))
        + _bytes(1, _node("Flatten", ["p"], ["y"], flatten_axis))
        + _bytes(2, "pool")
        + _bytes(11, _value_info("x", ["N", 3, height, width]))
        + _bytes(12, _value_info("y", ["N", 3]))
    )
    model = _int(1, 7) + _bytes(2, "frame-tests") + _bytes(7, graph) + _bytes(8, _int(2, 13))
    path = Path(path)
    path.write_bytes(model)
    return path
