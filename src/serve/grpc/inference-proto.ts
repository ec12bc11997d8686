/**
 * The Open Inference Protocol (v2) over gRPC, as edgeship serves it: service
 * inference.GRPCInferenceService. Package, service, message and field names and numbers follow the
 * protocol (KServe's docs/predict-api/v2/grpc_predict_v2.proto, Triton's grpc_service.proto), so a
 * client generated from either talks to this server. Kept here as text, so the server, the built
 * CLI and the tests read one definition.
 */
export const INFERENCE_PROTO = `syntax = "proto3";
package inference;

service GRPCInferenceService {
  rpc ServerLive(ServerLiveRequest) returns (ServerLiveResponse) {}
  rpc ServerReady(ServerReadyRequest) returns (ServerReadyResponse) {}
  rpc ModelReady(ModelReadyRequest) returns (ModelReadyResponse) {}
  rpc ServerMetadata(ServerMetadataRequest) returns (ServerMetadataResponse) {}
  rpc ModelMetadata(ModelMetadataRequest) returns (ModelMetadataResponse) {}
  rpc ModelInfer(ModelInferRequest) returns (ModelInferResponse) {}
}

message ServerLiveRequest {}
message ServerLiveResponse { bool live = 1; }

message ServerReadyRequest {}
message ServerReadyResponse { bool ready = 1; }

// An empty version means the version the server chooses (the current one).
message ModelReadyRequest {
  string name = 1;
  string version = 2;
}
message ModelReadyResponse { bool ready = 1; }

message ServerMetadataRequest {}
message ServerMetadataResponse {
  string name = 1;
  string version = 2;
  repeated string extensions = 3;
}

message ModelMetadataRequest {
  string name = 1;
  string version = 2;
}
message ModelMetadataResponse {
  // A dim of -1 varies from request to request.
  message TensorMetadata {
    string name = 1;
    string datatype = 2;
    repeated int64 shape = 3;
  }
  string name = 1;
  repeated string versions = 2;
  string platform = 3;
  repeated TensorMetadata inputs = 4;
  repeated TensorMetadata outputs = 5;
}

message ModelInferRequest {
  message InferInputTensor {
    string name = 1;
    string datatype = 2;
    repeated int64 shape = 3;
    map<string, InferParameter> parameters = 4;
    // Typed values; absent when the request carries raw_input_contents.
    InferTensorContents contents = 5;
  }
  message InferRequestedOutputTensor {
    string name = 1;
    map<string, InferParameter> parameters = 2;
  }
  string model_name = 1;
  string model_version = 2;
  string id = 3;
  map<string, InferParameter> parameters = 4;
  repeated InferInputTensor inputs = 5;
  // Empty for every output of the model.
  repeated InferRequestedOutputTensor outputs = 6;
  // One entry per input, in the order of \`inputs\`: its values row-major, little-endian, no padding.
  repeated bytes raw_input_contents = 7;
}

message ModelInferResponse {
  message InferOutputTensor {
    string name = 1;
    string datatype = 2;
    repeated int64 shape = 3;
    map<string, InferParameter> parameters = 4;
    InferTensorContents contents = 5;
  }
  string model_name = 1;
  string model_version = 2;
  string id = 3;
  map<string, InferParameter> parameters = 4;
  repeated InferOutputTensor outputs = 5;
  // One entry per output, in the order of \`outputs\`, when the answer is raw.
  repeated bytes raw_output_contents = 6;
}

message InferParameter {
  oneof parameter_choice {
    bool bool_param = 1;
    int64 int64_param = 2;
    string string_param = 3;
  }
}

// Values by type, row-major; which field holds them follows the tensor's datatype.
message InferTensorContents {
  repeated bool bool_contents = 1;       // BOOL
  repeated int32 int_contents = 2;       // INT8, INT16, INT32
  repeated int64 int64_contents = 3;     // INT64
  repeated uint32 uint_contents = 4;     // UINT8, UINT16, UINT32
  repeated uint64 uint64_contents = 5;   // UINT64
  repeated float fp32_contents = 6;      // FP32
  repeated double fp64_contents = 7;     // FP64
  repeated bytes bytes_contents = 8;     // BYTES
}
`;
