import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The build benches' context: FILES small source files in 40 directories under src/, and a Dockerfile with 3 RUN
 * steps and a COPY of src/ on the base given as build arg BASE. Returns the file the warm runs edit.
 */
export function writeBuildBenchContext(context: string, files: number): string {
  for (let i = 0; i < files; i++) {
    const dir = join(context, 'src', `pkg${i % 40}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `file${i}.js`), `module.exports = ${i};\n`.repeat(20));
  }
  writeFileSync(join(context, 'Dockerfile'), [
    'ARG BASE', 'FROM ${BASE}',
    'RUN mkdir -p /opt/app && echo one > /opt/app/one',
    'RUN for i in $(seq 1 50); do echo $i > /opt/app/n$i; done',
    'COPY src /opt/app/src',
    'RUN find /opt/app/src -type f | wc -l > /opt/app/count',
    '',
  ].join('\n'));
  return join(context, 'src', 'pkg0', 'file0.js');
}
