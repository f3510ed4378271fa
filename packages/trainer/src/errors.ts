export type TrainerErrorCode =
  | 'TRAINER_ERR_BAD_OPTION'
  | 'TRAINER_ERR_MODEL_FILE'
  /** A model handed over as bytes uses a layer (or other) class the rank thread's tfjs does not know. */
  | 'TRAINER_ERR_UNREGISTERED_CLASS'
  | 'TRAINER_ERR_MODEL_SHAPE'
  /** The model's last layer does not fit the job's loss (activation, units or classes). */
  | 'TRAINER_ERR_LOSS_MISMATCH'
  | 'TRAINER_ERR_GRADIENT_SIZE'
  | 'TRAINER_ERR_NOT_FINITE'
  /** A replica's weights differ from rank 0's (a replica check). */
  | 'TRAINER_ERR_REPLICAS_DIVERGED'
  /** A regroup asked to roll back further than the snapshots kept. */
  | 'TRAINER_ERR_ROLLBACK'
  /** An order came for a step this replica is not at. */
  | 'TRAINER_ERR_STEP_ORDER'
  /** The job asks for something the backend cannot do (SyncBN across ranks on webgpu). */
  | 'TRAINER_ERR_UNSUPPORTED_ON_BACKEND';

export class TrainerError extends Error {
  readonly code: TrainerErrorCode;
  constructor(code: TrainerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TrainerError';
    this.code = code;
  }
}
