// Idle master: VmRSS of the master process, and its CPU (utime + stime) over 3 s with no load.
import { CLOCK_TICKS, cpuTicks, rssMb, sleep } from '../lib.mjs';

export const name = 'idle';

export async function run({ peer }) {
  await sleep(1_000); // let start-up settle
  const seconds = 3;
  const ticksBefore = cpuTicks(peer.masterPid);
  await sleep(seconds * 1_000);
  const ticks = cpuTicks(peer.masterPid) - ticksBefore;
  return {
    masterRssMb: rssMb(peer.masterPid),
    masterCpuMs: Math.round((ticks / CLOCK_TICKS) * 1000),
    masterCpuPct: Math.round((ticks / CLOCK_TICKS / seconds) * 1000) / 10,
    workersRssMb: Math.round(peer.workerPids().reduce((sum, pid) => sum + (rssMb(pid) ?? 0), 0) * 10) / 10,
  };
}
