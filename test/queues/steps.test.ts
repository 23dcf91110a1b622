import { describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../queues/catalog.js';
import { cancelCheckOf, childSteps, isOptionalStep, runEndStep, runsAfter, runSteps, STEPS } from '../../queues/steps.js';
import { parseListSendRequest } from '../../src/request.js';
import { seedRequest } from '../helpers/requests.js';

const withFile = parseListSendRequest(seedRequest({ runId: 's1', file: { path: '/data/subscribers.csv' } }));
const withoutFile = parseListSendRequest(seedRequest({ runId: 's2' }));

describe('the step table', () => {
  it('has one entry per queue, and needs only steps that come earlier', () => {
    expect(Object.keys(STEPS).sort()).toEqual([...QUEUE_NAMES].sort());
    for (const [i, step] of QUEUE_NAMES.entries()) {
      for (const need of STEPS[step].needs) expect(QUEUE_NAMES.indexOf(need)).toBeLessThan(i);
    }
  });

  it('says which steps run only after resolve-list, through their needs', () => {
    expect(QUEUE_NAMES.filter((step) => runsAfter(step, 'resolve-list'))).toEqual(['create-import', 'start-import', 'poll-import', 'send', 'track-send']);
    expect(runsAfter('send', 'upload-file')).toBe(true);
    expect(runsAfter('resolve-list', 'resolve-list')).toBe(false);
  });

  it('reads the cancel mark before every step that can change SFMC before the Send claim, and nowhere it cannot matter', () => {
    expect(Object.fromEntries(QUEUE_NAMES.map((step) => [step, cancelCheckOf(step)]))).toEqual({
      'resolve-list': 'none',
      'upload-file': 'before',
      'create-import': 'before',
      'start-import': 'before',
      'poll-import': 'before',
      send: 'own',
      'track-send': 'none',
    });
  });

  it('ends every run on a step marked endsRun', () => {
    for (const request of [withFile, withoutFile]) expect(STEPS[runEndStep(request)].endsRun).toBe(true);
  });

  it('leaves an optional step out of a run whose request does not call for it', () => {
    expect(isOptionalStep('upload-file')).toBe(true);
    expect(runSteps(withFile)).toContain('upload-file');
    expect(runSteps(withoutFile)).not.toContain('upload-file');
    expect(childSteps('create-import', runSteps(withoutFile))).toEqual(['resolve-list']);
  });

  it('bridges an absent step: its parent takes the absent step\'s own children', () => {
    // Without start-import and poll-import, send would hang off create-import directly.
    const present = ['resolve-list', 'create-import', 'send'] as const;
    expect(childSteps('send', present)).toEqual(['create-import']);
  });

  it('gives every run one root that reaches each of its steps', () => {
    for (const request of [withFile, withoutFile]) {
      const present = runSteps(request);
      const reached = new Set<string>();
      const walk = (step: (typeof present)[number]): void => {
        reached.add(step);
        childSteps(step, present).forEach(walk);
      };
      walk(runEndStep(request));
      expect([...reached].sort()).toEqual([...present].sort());
    }
  });
});
