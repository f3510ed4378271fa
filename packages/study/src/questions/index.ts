import { placementQuestion } from './q1-placement.js';
import { dropoutQuestion } from './q2-dropout.js';
import { replicaBatchQuestion } from './q3-replica-batch.js';
import { learningRateQuestion } from './q4-learning-rate.js';
import { testStatisticsQuestion } from './q5-test-statistics.js';
import { activationDepthQuestion } from './q6-activation-depth.js';
import type { Question } from './question.js';

/** The study's questions, in report order. */
export const QUESTIONS: readonly Question[] = [
  placementQuestion,
  dropoutQuestion,
  replicaBatchQuestion,
  learningRateQuestion,
  testStatisticsQuestion,
  activationDepthQuestion,
];
