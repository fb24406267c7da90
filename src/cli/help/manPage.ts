import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageFile } from '../../packageFile.js';
import { commands } from '../commands/index.js';
import { mainHelp } from './mainHelp.js';

/** Text made safe for roff: backslashes escaped, hyphens as minus signs (options copy and paste), no control lines. */
function roffText(line: string): string {
  const escaped = line.replace(/\\/g, '\\e').replace(/-/g, '\\-');
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
}

/** A help section header: a line of its own ending in a colon ("Options:", "Registry options (base and -t):"). */
const SECTION = /^([A-Z][^.]{0,60}):\s*$/;

/**
 * A man page from a command's help text, as berth prints it: the Usage line is the SYNOPSIS, the paragraphs
 * before the first section the DESCRIPTION (refilled by the pager), each "…:" section its own section with its
 * columns kept as written.
 */
export function manPage(name: string, summary: string, help: string, version: string): string {
  const title = name.toUpperCase();
  const out = [`.TH ${title} 1 "" "berth ${version}" "berth manual"`, '.SH NAME', `${roffText(name)} \\- ${roffText(summary)}`];
  const lines = help.trim().split('\n');
  let section: 'synopsis' | 'description' | 'preformatted' | undefined;
  for (const line of lines) {
    const usage = /^Usage:\s*(.*)$/.exec(line);
    const header = SECTION.exec(line);
    if (usage) {
      if (section === 'preformatted') out.push('.fi');
      out.push('.SH SYNOPSIS', '.nf', roffText(usage[1]!));
      section = 'synopsis';
    } else if (header && !line.startsWith(' ')) {
      if (section === 'synopsis' || section === 'preformatted') out.push('.fi');
      out.push(`.SH ${roffText(header[1]!.toUpperCase())}`, '.nf');
      section = 'preformatted';
    } else if (section === 'synopsis' && /^\s+\S/.test(line)) {
      out.push(roffText(line.trim()));
    } else if (section === 'synopsis' || section === undefined) {
      if (!line.trim()) continue;
      if (section === 'synopsis') out.push('.fi');
      out.push('.SH DESCRIPTION', roffText(line.trim()));
      section = 'description';
    } else if (section === 'description') {
      out.push(line.trim() ? roffText(line.trim()) : '.PP');
    } else {
      out.push(roffText(line));
    }
  }
  if (section === 'synopsis' || section === 'preformatted') out.push('.fi');
  out.push('.SH SEE ALSO', name === 'berth' ? commands.map((c) => `berth\\-${roffText(c.name)}(1)`).join(', ') : 'berth(1)');
  return `${out.join('\n')}\n`;
}

/** berth(1) and berth-COMMAND(1) for every command, written into `dir` (each to a temp name, then renamed). */
export async function writeManPages(dir: string): Promise<string[]> {
  const version = (JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string }).version;
  mkdirSync(dir, { recursive: true });
  const pages: [string, string][] = [['berth.1', manPage('berth', 'a daemonless container-image toolchain', mainHelp().split('\n').slice(2).join('\n'), version)]];
  for (const entry of commands) {
    const command = await entry.load();
    pages.push([`berth-${entry.name}.1`, manPage(`berth-${entry.name}`, entry.summary, command.usage, version)]);
  }
  for (const [file, text] of pages) {
    writeFileSync(join(dir, `.${file}.tmp`), text);
    renameSync(join(dir, `.${file}.tmp`), join(dir, file));
  }
  return pages.map(([file]) => join(dir, file));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const dir = process.argv[2] ?? 'man';
  const written = await writeManPages(dir);
  process.stdout.write(`${written.length} man pages in ${dir} (man -l ${join(dir, 'berth.1')})\n`);
}
