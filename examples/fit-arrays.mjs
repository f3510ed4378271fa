// Trains a functional tfjs model with tfjs-ddp's fit: 2 rank threads, batch norm
// synchronized over the global batch. Then trains a copy with tfjs's own model.fit on the
// whole batch and prints how far the two ended apart.
//
//   node examples/fit-arrays.mjs          (in this repository, after `npm run build`,
//                                          or in any project that installed tfjs-ddp)
import * as tf from '@tensorflow/tfjs';
import { fit } from 'tfjs-ddp';

// 512 samples of 20 features, 3 classes (a seeded linear rule).
const x = tf.randomNormal([512, 20], 0, 1, 'float32', 7);
const labels = tf.argMax(tf.matMul(x, tf.randomNormal([20, 3], 0, 1, 'float32', 8)), 1);

function buildModel() {
  const input = tf.input({ shape: [20] });
  let h = tf.layers.dense({ units: 32, useBias: false, kernelInitializer: tf.initializers.glorotNormal({ seed: 1 }) }).apply(input);
  h = tf.layers.batchNormalization().apply(h);
  h = tf.layers.activation({ activation: 'relu' }).apply(h);
  const output = tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotNormal({ seed: 2 }) }).apply(h);
  return tf.model({ inputs: input, outputs: output });
}

const model = buildModel();
model.compile({ optimizer: tf.train.sgd(0.1), loss: 'sparseCategoricalCrossentropy' });
// shuffle: false walks the samples in order, as the reference below does: the runs are comparable step for step.
const history = await fit(model, x, labels, { epochs: 3, batchSize: 64, threads: 2, bn: 'sync', shuffle: false, validationSplit: 0.125 });
for (const epoch of history.epoch) {
  const h = history.history;
  console.log(`epoch ${epoch + 1}: loss ${h.loss[epoch].toFixed(4)}, accuracy ${h.acc[epoch].toFixed(3)}, ` +
    `validation loss ${h.val_loss[epoch].toFixed(4)}, validation accuracy ${h.val_acc[epoch].toFixed(3)}`);
}

// The reference: the same model and start, tfjs's fit alone on every 64-sample batch.
const reference = buildModel();
reference.compile({ optimizer: tf.train.sgd(0.1), loss: 'sparseCategoricalCrossentropy' });
// (tfjs's own sparse loss wants float labels.)
await reference.fit(x.slice(0, 448), labels.slice(0, 448).cast('float32'), { epochs: 3, batchSize: 64, shuffle: false, verbose: 0 });
const apart = Math.max(...model.getWeights().map((w, i) => tf.max(tf.abs(tf.sub(w, reference.getWeights()[i]))).dataSync()[0]));
console.log(`${history.params.threads} rank threads on ${history.params.backend}; largest weight difference to tfjs's model.fit: ${apart.toExponential(2)}`);
