import ort from 'onnxruntime-node';
import type { EvaluationSet, JointSample } from '../../core/joint.ts';
import { ModelValidationError } from '../../core/errors.ts';
import { tensorFromJson } from './tensors.ts';

/** Each example's class (the argmax of the first output) and confidence (a named output, or the top-class probability). */
async function answers(
  file: string,
  set: EvaluationSet,
  confidenceOutput: string | undefined,
): Promise<{ predicted: number; confidence: number }[]> {
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
  try {
    const classes = session.outputNames[0];
    if (!classes) throw new ModelValidationError(`${file}: the model has no output`);
    if (confidenceOutput && !session.outputNames.includes(confidenceOutput))
      throw new ModelValidationError(
        `${file}: no output "${confidenceOutput}" to read the confidence from; it has ${session.outputNames.join(', ')}`,
      );
    const found = [];
    for (const [index, sample] of set.samples.entries()) {
      const feeds = Object.fromEntries(
        Object.entries(sample.inputs).map(([name, json]) => [name, tensorFromJson(json, name)]),
      );
      const outputs = await session.run(feeds).catch((error: Error) => {
        throw new ModelValidationError(`${file}: evaluation sample ${index}: ${error.message}`, { cause: error });
      });
      const scores = Array.from(outputs[classes]?.data as ArrayLike<number>);
      const top = scores.reduce((best, value, at) => (value > (scores[best] ?? -Infinity) ? at : best), 0);
      const confidence = confidenceOutput
        ? Number((outputs[confidenceOutput]?.data as ArrayLike<number>)[0])
        : (scores[top] as number);
      found.push({ predicted: top, confidence });
    }
    return found;
  } finally {
    await session.release();
  }
}

/** The pair's answers to a labelled set: the edge model's class and confidence, the cloud model's class. */
export async function evaluatePair(
  edge: string,
  cloud: string,
  set: EvaluationSet,
  confidenceOutput?: string,
): Promise<JointSample[]> {
  const [atEdge, inCloud] = await Promise.all([answers(edge, set, confidenceOutput), answers(cloud, set, undefined)]);
  return set.samples.map((sample, index) => ({
    label: sample.label,
    edge: atEdge[index] as { predicted: number; confidence: number },
    cloud: { predicted: (inCloud[index] as { predicted: number }).predicted },
  }));
}
