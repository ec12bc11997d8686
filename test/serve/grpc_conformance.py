"""OIP gRPC conformance, from a client of another implementation than the server's (Python's grpcio
and protobuf, with classes grpc_tools.protoc generated from the served proto).

Usage: grpc_conformance.py <generated module dir> <port> <case.json>
case.json: {"model": name, "version": v, "input": {name, shape, data}, "expected": [floats],
            "output": name, "max_bytes": n}
Prints one JSON line: {"checks": [names passed], "failures": [what failed]}.
"""
import json
import struct
import sys
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, sys.argv[1])
import grpc  # noqa: E402
import grpc_predict_v2_pb2 as pb  # noqa: E402
import grpc_predict_v2_pb2_grpc as pb_grpc  # noqa: E402

port = int(sys.argv[2])
with open(sys.argv[3], encoding="utf-8") as handle:
    case = json.load(handle)

checks, failures = [], []


def check(name, condition, detail=""):
    (checks if condition else failures).append(name if condition else f"{name}: {detail}")


def code_of(call):
    try:
        call()
    except grpc.RpcError as error:  # the status a failed call carries
        return error.code(), error.details()
    return grpc.StatusCode.OK, ""


# The protocol's field numbers and types (KServe's grpc_predict_v2.proto), against what the served
# proto generated: a transcription slip in either shows here, not as garbled tensors.
SPEC = {
    "ModelInferRequest": {"model_name": (1, "string"), "model_version": (2, "string"), "id": (3, "string"), "parameters": (4, "message"), "inputs": (5, "message"), "outputs": (6, "message"), "raw_input_contents": (7, "bytes")},
    "ModelInferRequest.InferInputTensor": {"name": (1, "string"), "datatype": (2, "string"), "shape": (3, "int64"), "parameters": (4, "message"), "contents": (5, "message")},
    "ModelInferResponse": {"model_name": (1, "string"), "model_version": (2, "string"), "id": (3, "string"), "parameters": (4, "message"), "outputs": (5, "message"), "raw_output_contents": (6, "bytes")},
    "ModelInferResponse.InferOutputTensor": {"name": (1, "string"), "datatype": (2, "string"), "shape": (3, "int64"), "parameters": (4, "message"), "contents": (5, "message")},
    "InferTensorContents": {"bool_contents": (1, "bool"), "int_contents": (2, "int32"), "int64_contents": (3, "int64"), "uint_contents": (4, "uint32"), "uint64_contents": (5, "uint64"), "fp32_contents": (6, "float"), "fp64_contents": (7, "double"), "bytes_contents": (8, "bytes")},
    "InferParameter": {"bool_param": (1, "bool"), "int64_param": (2, "int64"), "string_param": (3, "string")},
    "ModelMetadataResponse": {"name": (1, "string"), "versions": (2, "string"), "platform": (3, "string"), "inputs": (4, "message"), "outputs": (5, "message")},
    "ModelMetadataResponse.TensorMetadata": {"name": (1, "string"), "datatype": (2, "string"), "shape": (3, "int64")},
    "ServerMetadataResponse": {"name": (1, "string"), "version": (2, "string"), "extensions": (3, "string")},
}
TYPES = {1: "double", 2: "float", 3: "int64", 4: "uint64", 5: "int32", 8: "bool", 9: "string", 11: "message", 12: "bytes", 13: "uint32"}
for message, fields in SPEC.items():
    descriptor = pb.DESCRIPTOR.message_types_by_name[message.split(".")[0]]
    for nested in message.split(".")[1:]:
        descriptor = descriptor.nested_types_by_name[nested]
    for field, (number, kind) in fields.items():
        found = descriptor.fields_by_name.get(field)
        check(f"proto {message}.{field}", found is not None and found.number == number and TYPES.get(found.type) == kind, f"expected #{number} {kind}, found {found and (found.number, TYPES.get(found.type))}")
service = pb.DESCRIPTOR.services_by_name["GRPCInferenceService"]
check("proto service", sorted(service.methods_by_name) == sorted(["ServerLive", "ServerReady", "ModelReady", "ServerMetadata", "ModelMetadata", "ModelInfer"]), str(sorted(service.methods_by_name)))

channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_send_message_length", 64 * 2**20), ("grpc.max_receive_message_length", 64 * 2**20)])
stub = pb_grpc.GRPCInferenceServiceStub(channel)
model, version = case["model"], case["version"]
spec = case["input"]

check("ServerLive", stub.ServerLive(pb.ServerLiveRequest()).live is True)
check("ServerReady", stub.ServerReady(pb.ServerReadyRequest()).ready is True)
check("ModelReady", stub.ModelReady(pb.ModelReadyRequest(name=model)).ready is True)
check("ModelReady by version", stub.ModelReady(pb.ModelReadyRequest(name=model, version=version)).ready is True)
code, details = code_of(lambda: stub.ModelReady(pb.ModelReadyRequest(name="nobody")))
check("ModelReady unknown model is NOT_FOUND", code == grpc.StatusCode.NOT_FOUND and "nobody" in details, f"{code} {details}")
metadata = stub.ServerMetadata(pb.ServerMetadataRequest())
check("ServerMetadata", metadata.name == "edgeship" and "binary_tensor_data" in metadata.extensions, str(metadata))
described = stub.ModelMetadata(pb.ModelMetadataRequest(name=model))
first = described.inputs[0]
check("ModelMetadata", described.name == model and version in described.versions and first.name == spec["name"] and first.datatype == "FP32" and first.shape[0] == -1, str(described))


def close(values, expected):
    return len(values) == len(expected) and all(abs(a - b) <= 1e-4 * max(1.0, abs(b)) for a, b in zip(values, expected))


def typed_request(data, shape, request_id="typed"):
    tensor = pb.ModelInferRequest.InferInputTensor(name=spec["name"], datatype="FP32", shape=shape, contents=pb.InferTensorContents(fp32_contents=data))
    return pb.ModelInferRequest(model_name=model, id=request_id, inputs=[tensor])


def raw_request(data, shape, request_id="raw"):
    tensor = pb.ModelInferRequest.InferInputTensor(name=spec["name"], datatype="FP32", shape=shape)
    return pb.ModelInferRequest(model_name=model, id=request_id, inputs=[tensor], raw_input_contents=[struct.pack(f"<{len(data)}f", *data)])


def raw_values(response, index=0):
    raw = response.raw_output_contents[index]
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


answer = stub.ModelInfer(typed_request(spec["data"], spec["shape"]))
output = answer.outputs[0]
check("ModelInfer typed", answer.id == "typed" and answer.model_name == model and answer.model_version == version and output.name == case["output"] and output.datatype == "FP32" and len(answer.raw_output_contents) == 0 and close(list(output.contents.fp32_contents), case["expected"]), str(answer)[:400])
answer = stub.ModelInfer(raw_request(spec["data"], spec["shape"]))
check("ModelInfer raw", answer.id == "raw" and len(answer.raw_output_contents) == 1 and not answer.outputs[0].HasField("contents") and close(raw_values(answer), case["expected"]), str(answer)[:400])
asked = pb.ModelInferRequest.InferRequestedOutputTensor(name=case["output"])
request = typed_request(spec["data"], spec["shape"])
request.outputs.append(asked)
check("ModelInfer with outputs named", [entry.name for entry in stub.ModelInfer(request).outputs] == [case["output"]])

# Refusals: the status the protocol's clients expect, and the message naming what is wrong.
wrong = typed_request(spec["data"], spec["shape"])
wrong.inputs[0].datatype = "INT32"
code, details = code_of(lambda: stub.ModelInfer(wrong))
check("wrong datatype is INVALID_ARGUMENT", code == grpc.StatusCode.INVALID_ARGUMENT and "expected datatype FP32" in details, f"{code} {details}")
short = typed_request(spec["data"][:-1], spec["shape"])
code, details = code_of(lambda: stub.ModelInfer(short))
check("too few values is INVALID_ARGUMENT", code == grpc.StatusCode.INVALID_ARGUMENT and spec["name"] in details, f"{code} {details}")
both = raw_request(spec["data"], spec["shape"])
both.inputs[0].contents.fp32_contents.extend(spec["data"])
code, details = code_of(lambda: stub.ModelInfer(both))
check("contents and raw together is INVALID_ARGUMENT", code == grpc.StatusCode.INVALID_ARGUMENT and "raw_input_contents" in details, f"{code} {details}")
cut = raw_request(spec["data"], spec["shape"])
cut.raw_input_contents[0] = cut.raw_input_contents[0][:-4]
code, details = code_of(lambda: stub.ModelInfer(cut))
check("raw bytes short of the shape is INVALID_ARGUMENT", code == grpc.StatusCode.INVALID_ARGUMENT and "bytes" in details, f"{code} {details}")
code, details = code_of(lambda: stub.ModelInfer(pb.ModelInferRequest(model_name="nobody", inputs=typed_request(spec["data"], spec["shape"]).inputs)))
check("unknown model is NOT_FOUND", code == grpc.StatusCode.NOT_FOUND, f"{code} {details}")
code, details = code_of(lambda: stub.ModelInfer(pb.ModelInferRequest(model_name=model, model_version="9.9.9", inputs=typed_request(spec["data"], spec["shape"]).inputs)))
check("unknown version is NOT_FOUND", code == grpc.StatusCode.NOT_FOUND and "9.9.9" in details, f"{code} {details}")
rows_per_window = len(spec["data"]) // spec["shape"][0]
too_many = (case["max_bytes"] // (4 * rows_per_window)) + 1
huge = raw_request([0.0] * (too_many * rows_per_window), [too_many] + spec["shape"][1:])
code, details = code_of(lambda: stub.ModelInfer(huge))
check("a message over the size limit is RESOURCE_EXHAUSTED", code == grpc.StatusCode.RESOURCE_EXHAUSTED, f"{code} {details}")

# Many clients at once, each with its own rows (batched together by the server): every answer is
# the one its request gets alone.
def window(seed):
    return [((seed * 7 + index * 13) % 97) / 10.0 for index in range(rows_per_window)]


alone = [raw_values(stub.ModelInfer(raw_request(window(seed), [1] + spec["shape"][1:]))) for seed in range(64)]
with ThreadPoolExecutor(max_workers=32) as pool:
    together = list(pool.map(lambda seed: raw_values(stub.ModelInfer(raw_request(window(seed), [1] + spec["shape"][1:], f"c{seed}"))), range(64)))
mixed = [seed for seed in range(64) if not close(together[seed], alone[seed])]
check("64 concurrent requests each get their own answer", not mixed, f"{len(mixed)} differ, e.g. {mixed[:5]}")
distinct = len({tuple(round(value, 4) for value in answer) for answer in alone})
check("the concurrent requests differ from each other", distinct > 32, f"only {distinct} distinct answers")
channel.close()
print(json.dumps({"checks": checks, "failures": failures}))
