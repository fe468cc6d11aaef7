import { InterruptedError } from '../errors.js';

/** Ctrl-C during the demo: nothing to resume, and everything it started is stopped on the way out. */
export function demoStopped(): InterruptedError {
  return new InterruptedError('demo stopped', 'everything it started has been stopped');
}
