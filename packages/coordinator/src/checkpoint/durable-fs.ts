// One implementation of the crash-safe file steps serves the checkpoints and the model folder (data's model-folder.ts).
export { exists, fsyncDir, makeDirDurable, removeDirSafely, uniqueSuffix, writeFileDurable } from '@tfjs-ddp/data';
