/** Every benchmark suite, in the order a full `npm run bench` takes them. */
import type { AnySuite } from '../harness/suite.js';
import { acksModelSuite } from './acks-model.js';
import { appendSuite } from './append.js';
import { shapesSuite } from './append-shapes.js';
import { bundlesSuite } from './bundles.js';
import { compactionSuite } from './compaction.js';
import { compressionSuite } from './compression.js';
import { contentionSuite } from './contention.js';
import { dilatedSuite } from './dilated.js';
import { fanOutSuite } from './fanout.js';
import { latencySuite } from './latency.js';
import { producerSuite } from './producer.js';
import { pushSuite } from './push-latency.js';
import { segmentsSuite } from './segments.js';
import { sparseSuite } from './sparse.js';
import { stagingSuite } from './staging-latency.js';

export const SUITES: readonly AnySuite[] = [
  compressionSuite,
  bundlesSuite,
  appendSuite,
  latencySuite,
  shapesSuite,
  segmentsSuite,
  compactionSuite,
  producerSuite,
  contentionSuite,
  dilatedSuite,
  acksModelSuite,
  sparseSuite,
  stagingSuite,
  fanOutSuite,
  pushSuite,
];
