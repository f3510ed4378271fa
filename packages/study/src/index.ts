export { StudyError } from './errors.js';
export type { StudyErrorCode } from './errors.js';
