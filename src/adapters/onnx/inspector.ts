import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import ort from 'onnxruntime-node';
import { ModelValidationError, messageOf } from '../../core/errors.ts';
import type { GoldenFile, TensorValues } from '../../core/golden.ts';
import type { ModelInspection } from '../../core/report-schema.ts';
import type { ModelInspector } from '../../ports.ts';
import { readModelHeader, type ModelHeader } from './model-proto.ts';
import { specsOf, tensorFromJson, toValues } from './tensors.ts';

/** Reads a model file and opens it in ONNX Runtime, wrapping every failure with the file name. */
export async function openModel(
  file: string,
  options: ort.InferenceSession.SessionOptions = {},
): Promise<{ bytes: Buffer; header: ModelHeader; session: ort.InferenceSession }> {
  const bytes = await readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw new ModelValidationError(
      error.code === 'ENOENT'
        ? `${file}: model file not found`
        : `${file}: cannot read the model file (${error.message})`,
      { cause: error },
    );
  });
  let header: ModelHeader;
  try {
    header = readModelHeader(bytes);
    if (!header.hasGraph || header.irVersion <= 0) throw new Error('no graph or IR version');
  } catch (error) {
    throw new ModelValidationError(
      `${file}: expected an ONNX model (a ModelProto with a graph), found ${bytes.length} bytes that are not one or are truncated (${messageOf(error)})`,
      { cause: error },
    );
  }
  try {
    return { bytes, header, session: await ort.InferenceSession.create(bytes, options) };
  } catch (error) {
    throw new ModelValidationError(`${file}: ONNX Runtime cannot load the model: ${messageOf(error)}`, {
      cause: error,
    });
  }
}

/** ModelInspector over onnxruntime-node. */
export class OnnxInspector implements ModelInspector {
  async inspect(file: string): Promise<ModelInspection> {
    const { bytes, header, session } = await openModel(file);
    try {
      if (header.opset === undefined) throw new ModelValidationError(`${file}: the model imports no ai.onnx opset`);
      return {
        sizeBytes: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        irVersion: header.irVersion,
        producer: header.producer,
        contract: {
          inputs: specsOf(session.inputMetadata),
          outputs: specsOf(session.outputMetadata),
          opset: header.opset,
        },
        metadata: header.metadata,
      };
    } finally {
      await session.release();
    }
  }

  async run(file: string, samples: GoldenFile['samples']): Promise<TensorValues[]> {
    const { session } = await openModel(file);
    try {
      const results: TensorValues[] = [];
      for (const [index, sample] of samples.entries()) {
        const feeds: Record<string, ort.Tensor> = {};
        for (const [name, json] of Object.entries(sample.inputs)) {
          if (!session.inputNames.includes(name)) {
            throw new ModelValidationError(
              `golden sample ${index}: the model has no input "${name}" (inputs: ${session.inputNames.join(', ')})`,
            );
          }
          try {
            feeds[name] = tensorFromJson(json, name);
          } catch (error) {
            throw new ModelValidationError(`golden sample ${index}: ${messageOf(error)}`, { cause: error });
          }
        }
        try {
          results.push(toValues(await session.run(feeds)));
        } catch (error) {
          throw new ModelValidationError(`golden sample ${index}: the model rejected the inputs: ${messageOf(error)}`, {
            cause: error,
          });
        }
      }
      return results;
    } finally {
      await session.release();
    }
  }
}
