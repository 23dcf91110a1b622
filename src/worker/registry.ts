import type { QueueName } from '../../queues/catalog.js';
import { createImport } from '../../processors/create-import.js';
import { pollImport } from '../../processors/poll-import.js';
import { resolveList } from '../../processors/resolve-list.js';
import { send } from '../../processors/send.js';
import { startImport } from '../../processors/start-import.js';
import { trackSend } from '../../processors/track-send.js';
import { uploadFile } from '../../processors/upload-file.js';
import type { StepProcessor } from '../../processors/step.js';

/** Every queue has exactly one processor; a missing entry does not compile. */
export const PROCESSORS: { [N in QueueName]: StepProcessor<N> } = {
  'resolve-list': resolveList,
  'upload-file': uploadFile,
  'create-import': createImport,
  'start-import': startImport,
  'poll-import': pollImport,
  send,
  'track-send': trackSend,
};
