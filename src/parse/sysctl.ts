/**
 * Parser for `sysctl -a` output (`key = value`), also `key=value` (sysctl.conf style, `sysctl -e`),
 * slash-notation keys, and `sysctl -a` stderr mixed in (`sysctl: permission denied on key '…'`,
 * `sysctl: reading key "…"`), which are warnings: the dump is still usable. See src/model/sysctl.ts
 * for the key notation (dots inside interface names are printed as `/`).
 */
import { IssueSink, type Parsed } from '../model/evidence.js';
import { canonicalSysctlKey, type Sysctls } from '../model/sysctl.js';
import { forEachLine, looksBinary } from './lines.js';

const DENIED = /^sysctl: permission denied on key ['"]?([^'"]+)['"]?/;
const READING = /^sysctl: reading key ['"]?([^'"]+)['"]?/;
const CANNOT_STAT = /^sysctl: cannot stat \/proc\/sys\/(\S+?):/;

export function parseSysctl(text: string, artifact: string): Parsed<Sysctls> {
  const sink = new IssueSink(artifact);
  const result: Sysctls = { values: new Map() };
  if (looksBinary(text)) {
    sink.error(0, 'binary content, not sysctl output');
    return { value: result, issues: sink.finish() };
  }
  let unrecognised = 0;
  let lastKey = '';
  const unreadable = (key: string, line: number, reason: string) => {
    (result.unreadable ??= []).push({ key: canonicalSysctlKey(key), line, reason });
    sink.warn(line, `${reason}: ${key}`);
  };

  forEachLine(text, (line, no) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#') || t.startsWith(';')) return;
    if (t.startsWith('sysctl:')) {
      lastKey = '';
      let m: RegExpExecArray | null;
      if ((m = DENIED.exec(t))) unreadable(m[1], no, 'permission denied');
      else if ((m = READING.exec(t))) unreadable(m[1], no, 'could not read');
      else if ((m = CANNOT_STAT.exec(t))) unreadable(m[1], no, 'no such key');
      else sink.warn(no, `sysctl reported: ${t}`);
      return;
    }
    const eq = t.indexOf('=');
    const key = eq > 0 ? t.slice(0, eq).trim() : '';
    if (!key || /\s/.test(key) || !/^[A-Za-z0-9_]/.test(key)) {
      unrecognised++;
      // Not reset lastKey: an unreadable line inside a multi-line value must not split it.
      sink.error(no, `not a sysctl "key = value" line: ${t}`);
      return;
    }
    const k = canonicalSysctlKey(key);
    const value = t.slice(eq + 1).trim();
    const prev = result.values.get(k);
    if (prev && k === lastKey) {
      // sysctl prints a multi-line value (e.g. kernel.core_modes) as one `key = line` per line.
      prev.value += `\n${value}`;
      return;
    }
    if (prev) sink.warn(no, `${k} given again (first at line ${prev.line}); the later value is used`);
    result.values.set(k, { value, line: no });
    lastKey = k;
  });

  if (result.values.size === 0 && unrecognised > 0) sink.error(0, 'no sysctl values recognised (wrong artifact?)');
  return { value: result, issues: sink.finish() };
}
