/**
 * Parser for Felix's `/metrics` page: the Prometheus text exposition format (0.0.4), also
 * OpenMetrics' `# EOF` and `_total` counter spelling.
 *
 * Written here rather than taken from npm: the maintained JS packages for this format
 * (parse-prometheus-text-format, prom2javascript) throw on the first malformed line and drop line
 * positions, while caliscope must keep going past a truncated or mangled scrape and cite the line
 * of every sample as evidence. The grammar is small: `# HELP`, `# TYPE`, comments, and
 * `name{label="value",…} value [timestamp]`.
 */
import type { FelixMetrics, MetricFamily, MetricSample, MetricType } from '../model/felix.js';
import { IssueSink, type Parsed } from '../model/evidence.js';
import { forEachLine, looksBinary } from './lines.js';

export { felixHealthFromMetrics, metricReading, metricSamples, metricValue } from '../model/felix.js';

const MAX_LINE = 1024 * 1024;
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped', 'gaugehistogram', 'info', 'stateset', 'unknown']);
const FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[Ii]nf(?:inity)?|NaN|nan)$/;

/** Suffixes a sample may carry in a family of the given type. */
const SUFFIXES: Partial<Record<MetricType, string[]>> = {
  histogram: ['_bucket', '_sum', '_count', '_created'],
  gaugehistogram: ['_bucket', '_gsum', '_gcount'],
  summary: ['_sum', '_count', '_created'],
  counter: ['_total', '_created'],
  info: ['_info'],
};

export function parsePromFloat(s: string): number | undefined {
  if (!FLOAT.test(s)) return undefined;
  const t = s.replace(/^([+-]?)[Ii]nf(inity)?$/, '$1Infinity');
  if (/^nan$/i.test(t)) return NaN;
  return Number(t);
}

function unescapeHelp(s: string): string {
  return s.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
}

interface SampleParts {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestamp?: number;
}

/** Parses one sample line; a string is the reason it is not one. */
export function parseSampleLine(line: string): SampleParts | string {
  let i = 0;
  const n = line.length;
  const skipWs = () => {
    while (i < n && (line[i] === ' ' || line[i] === '\t')) i++;
  };
  skipWs();
  const nm = NAME.exec(line.slice(i, i + 1024));
  if (!nm) return 'expected a metric name';
  const name = nm[0];
  i += name.length;
  const labels: Record<string, string> = {};
  skipWs();
  if (line[i] === '{') {
    i++;
    for (;;) {
      skipWs();
      if (line[i] === '}') {
        i++;
        break;
      }
      const ln = LABEL_NAME.exec(line.slice(i, i + 1024));
      if (!ln) return 'bad label name';
      i += ln[0].length;
      skipWs();
      if (line[i] !== '=') return `expected "=" after label ${ln[0]}`;
      i++;
      skipWs();
      if (line[i] !== '"') return `expected a quoted value for label ${ln[0]}`;
      i++;
      let v = '';
      let closed = false;
      while (i < n) {
        const c = line[i];
        if (c === '\\' && i + 1 < n) {
          const e = line[i + 1];
          v += e === 'n' ? '\n' : e;
          i += 2;
          continue;
        }
        if (c === '"') {
          closed = true;
          i++;
          break;
        }
        v += c;
        i++;
      }
      if (!closed) return `unterminated value for label ${ln[0]}`;
      if (Object.prototype.hasOwnProperty.call(labels, ln[0])) return `duplicate label ${ln[0]}`;
      labels[ln[0]] = v;
      skipWs();
      if (line[i] === ',') {
        i++;
        continue;
      }
      if (line[i] === '}') {
        i++;
        break;
      }
      return 'expected "," or "}" in label set';
    }
  }
  const rest = line.slice(i).trim().split(/[ \t]+/);
  if (rest.length === 0 || rest[0] === '') return 'missing value';
  if (rest.length > 2) return 'unexpected text after value and timestamp';
  const value = parsePromFloat(rest[0]);
  if (value === undefined) return `bad value "${rest[0]}"`;
  const out: SampleParts = { name, labels, value };
  if (rest.length === 2) {
    if (!/^-?\d+(\.\d+)?$/.test(rest[1])) return `bad timestamp "${rest[1]}"`;
    out.timestamp = Number(rest[1]);
  }
  return out;
}

export function parseFelixMetrics(text: string, artifact: string): Parsed<FelixMetrics> {
  const sink = new IssueSink(artifact);
  const families = new Map<string, MetricFamily>();
  const value: FelixMetrics = { families };
  if (looksBinary(text)) {
    sink.error(0, 'binary data, not a Prometheus metrics page');
    return { value, issues: sink.finish() };
  }
  const seen = new Set<string>();
  let samples = 0;
  let bad = 0;
  let ended = false;

  const family = (name: string): MetricFamily => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, samples: [] }));
    return f;
  };

  /** The declared family a sample name belongs to (`x_bucket` → histogram `x`), else its own. */
  const familyOf = (sampleName: string): MetricFamily => {
    const exact = families.get(sampleName);
    if (exact) return exact;
    for (const [type, suffixes] of Object.entries(SUFFIXES) as [MetricType, string[]][]) {
      for (const sfx of suffixes) {
        if (!sampleName.endsWith(sfx)) continue;
        const base = families.get(sampleName.slice(0, -sfx.length));
        if (base && base.type === type) return base;
      }
    }
    return family(sampleName);
  };

  forEachLine(text, (line, no) => {
    if (ended) {
      if (line.trim() !== '') sink.warn(no, 'text after "# EOF"');
      return;
    }
    if (line.length > MAX_LINE) {
      bad++;
      sink.warn(no, `line of ${line.length} characters skipped`);
      return;
    }
    const t = line.trim();
    if (t === '') return;
    if (t.startsWith('#')) {
      const m = /^#\s*(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(t);
      if (!m) {
        if (/^#\s*EOF\s*$/.test(t)) ended = true;
        return; // plain comment
      }
      if (!NAME.test(m[2]) || NAME.exec(m[2])![0] !== m[2]) {
        bad++;
        sink.warn(no, `bad metric name "${m[2]}" in # ${m[1]}`);
        return;
      }
      const f = family(m[2]);
      if (m[1] === 'HELP') {
        if (f.help !== undefined) sink.warn(no, `second # HELP for ${m[2]}`);
        else f.help = unescapeHelp(m[3] ?? '');
        return;
      }
      const type = (m[3] ?? '').trim().toLowerCase() as MetricType;
      if (!TYPES.has(type)) {
        bad++;
        sink.warn(no, `unknown metric type "${m[3] ?? ''}" for ${m[2]}`);
        return;
      }
      if (f.type !== undefined) sink.warn(no, `second # TYPE for ${m[2]}`);
      else if (f.samples.length > 0) sink.warn(no, `# TYPE for ${m[2]} after its samples`);
      else f.type = type;
      return;
    }
    const s = parseSampleLine(line);
    if (typeof s === 'string') {
      bad++;
      sink.warn(no, `not a metric sample: ${s}`);
      return;
    }
    const key = `${s.name}${JSON.stringify(Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))}`;
    if (seen.has(key)) sink.warn(no, `duplicate sample ${s.name}${formatLabels(s.labels)}`);
    seen.add(key);
    const sample: MetricSample = { name: s.name, labels: s.labels, value: s.value, line: no };
    if (s.timestamp !== undefined) sample.timestamp = s.timestamp;
    familyOf(s.name).samples.push(sample);
    samples++;
  });
  if (samples === 0 && bad > 0) sink.warn(0, 'no Prometheus metric samples found');
  return { value, issues: sink.finish() };
}

function formatLabels(l: Record<string, string>): string {
  const e = Object.entries(l);
  return e.length === 0 ? '' : `{${e.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
}
