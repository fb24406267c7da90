import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Preloaded (node --import) into a child berth process: on exit, write the
 * process's peak resident set (VmHWM from /proc/self/status, in kB) to
 * $BERTH_PEAK_RSS_FILE, so a test can check memory without polling.
 */
const target = process.env.BERTH_PEAK_RSS_FILE;
if (target) {
  process.on('exit', () => {
    const peak = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    writeFileSync(target, peak ?? '');
  });
}
