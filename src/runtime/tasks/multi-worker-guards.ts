import type { MultiWorker, Worker } from 'node-resque';

/**
 * node-resque's MultiWorker turns some Redis errors into unhandled rejections, which kill the process; these
 * guards report them instead. Used on mycluster's own processors and on an ActionHero project's.
 */
export interface MultiWorkerGuards {
  /** Call right before `multiWorker.end()`. */
  beforeEnd(): void;
  /** Park the processors the MultiWorker ended; also runs after each of its checks. */
  parkEnded(): void;
}

export function guardMultiWorker(multiWorker: MultiWorker, reportError: (error: unknown) => void): MultiWorkerGuards {
  guardCheckLoop(multiWorker, reportError);
  const known = new Set<Worker>();
  const parked = new Set<Worker>();
  // Processors the MultiWorker ended (scale-down, stop) are parked, and parked again at the next check if
  // node-resque restarted them meanwhile (see parkProcessor); forgotten once they stayed stopped.
  const parkEnded = (): void => {
    for (const processor of parked) if (!processor.running) parked.delete(processor);
    for (const processor of known) {
      if (multiWorker.workers.includes(processor)) continue;
      known.delete(processor);
      parked.add(processor);
    }
    for (const processor of multiWorker.workers) known.add(processor);
    for (const processor of parked) parkProcessor(processor, reportError);
  };
  multiWorker.on('multiWorkerAction', parkEnded);
  parkEnded();
  return {
    beforeEnd() {
      // node-resque ends each processor inside an async Promise executor with no catch: a Redis error there
      // would be an unhandled rejection, and that processor's stop would never resolve. Catch it here.
      for (const processor of multiWorker.workers) {
        const end = processor.end.bind(processor);
        processor.end = () => end().catch(reportError);
      }
    },
    parkEnded,
  };
}

/**
 * The MultiWorker runs its processor-count check from a timer as an async function without a catch: a Redis
 * error there ("Connection is closed." while a Sentinel failover reconnects) would be an unhandled rejection.
 * Report it instead, and keep the loop going.
 */
function guardCheckLoop(multiWorker: MultiWorker, reportError: (error: unknown) => void): void {
  const loop = multiWorker as unknown as { checkWrapper: () => Promise<void>; checkTimer: NodeJS.Timeout | null; running: boolean };
  const check = loop.checkWrapper.bind(multiWorker);
  loop.checkWrapper = async () => {
    try {
      await check();
    } catch (error) {
      reportError(error);
      if (loop.running) loop.checkTimer = setTimeout(() => void loop.checkWrapper(), multiWorker.options.checkTimeout);
    }
  };
}

/**
 * Make sure an ended processor stays stopped. node-resque's Worker.end() can land while a `*` processor
 * refreshes its queue list, whose track() sets `running` again: that processor would poll on after end(),
 * without an 'error' listener (the MultiWorker removed its listeners), and its next failed poll would be an
 * unhandled rejection.
 */
function parkProcessor(processor: Worker, reportError: (error: unknown) => void): void {
  processor.running = false;
  if (processor.pollTimer) clearTimeout(processor.pollTimer);
  if (processor.pingTimer) clearInterval(processor.pingTimer);
  if (processor.listenerCount('error') === 0) processor.on('error', reportError);
}
