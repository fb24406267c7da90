import { readFileSync } from 'node:fs';

export interface ProcessStat {
  state: string;
  startTime: string;
}

/** /proc/PID/stat fields we need; undefined when the process does not exist. */
export function readProcessStat(pid: number): ProcessStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm may contain spaces and parentheses: the fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', startTime: fields[19] ?? '' };
}

/** True when PID is the very process recorded (same start time) and has not exited. */
export function isSameLiveProcess(pid: number, startTime: string): boolean {
  const stat = readProcessStat(pid);
  if (!stat) return false;
  if (stat.startTime !== startTime) return false; // the pid was reused by another process
  return stat.state !== 'Z' && stat.state !== 'X';
}
