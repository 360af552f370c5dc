// Idle master: VmRSS of the master process 4 s after start and again at 30 s, and its CPU (utime + stime)
// over the 3 s before the first reading, with no load. Two readings, because start-up memory is given back
// (V8's memory reducer) and new-space garbage from IPC refills it, at different times in different peers.
import { CLOCK_TICKS, cpuTicks, rssMb, sleep } from '../lib.mjs';

export const name = 'idle';

const LATE_READING_S = 30;

export async function run({ peer }) {
  await sleep(1_000); // let start-up settle
  const seconds = 3;
  const ticksBefore = cpuTicks(peer.masterPid);
  await sleep(seconds * 1_000);
  const ticks = cpuTicks(peer.masterPid) - ticksBefore;
  const masterRssMb = rssMb(peer.masterPid);
  const workersRssMb = Math.round(peer.workerPids().reduce((sum, pid) => sum + (rssMb(pid) ?? 0), 0) * 10) / 10;
  await sleep((LATE_READING_S - 1 - seconds) * 1_000);
  return {
    masterRssMb,
    masterRssLateMb: rssMb(peer.masterPid),
    masterCpuMs: Math.round((ticks / CLOCK_TICKS) * 1000),
    masterCpuPct: Math.round((ticks / CLOCK_TICKS / seconds) * 1000) / 10,
    workersRssMb,
  };
}
