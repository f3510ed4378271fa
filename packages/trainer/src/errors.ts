export type TrainerErrorCode =
  | 'TRAINER_ERR_BAD_OPTION'
  | 'TRAINER_ERR_MODEL_FILE'
  | 'TRAINER_ERR_MODEL_SHAPE'
  | 'TRAINER_ERR_GRADIENT_SIZE'
  | 'TRAINER_ERR_NOT_FINITE';

export class TrainerError extends Error {
  readonly code: TrainerErrorCode;
  constructor(code: TrainerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TrainerError';
    this.code = code;
  }
}
