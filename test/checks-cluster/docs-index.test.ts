/**
 * docs/checks.md stays true to the code: every registered check is in the index with its severity,
 * category and a link to a section that exists, and the `diagnose --json` schema there accepts real
 * diagnoses (and rejects malformed ones).
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ALL_CHECKS } from '../../src/checks/registry.js';
import { NODE_CHECKS } from '../../src/checks/node-checks.js';
import { loadBundle } from '../../src/bundle/load.js';
import { diagnose } from '../../src/checks/run.js';
import { jsonReplacer } from '../../src/cli/run.js';

const ROOT = path.join(import.meta.dirname, '..', '..');
const DOCS = path.join(ROOT, 'docs');
const index = readFileSync(path.join(DOCS, 'checks.md'), 'utf8');

/** GitHub's heading anchor: lower case, punctuation dropped, each space a hyphen. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsOf(file: string): Set<string> {
  const text = readFileSync(path.join(DOCS, file), 'utf8');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchor(m[1])));
}

interface IndexRow {
  id: string;
  link: string;
  severity: string;
  category: string;
  detects: string;
}

const ROW = /^\| \[`([^`]+)`\]\(([^)]+)\) \| ([^|]+) \| ([^|]+) \| ([^|]+) \|$/gm;
const rows: IndexRow[] = [...index.matchAll(ROW)].map((m) => ({ id: m[1], link: m[2], severity: m[3].trim(), category: m[4].trim(), detects: m[5].trim() }));

describe('docs/checks.md index', () => {
  it('lists every registered check once, and nothing else', () => {
    const ids = rows.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ALL_CHECKS.map((c) => c.id).sort());
  });

  it('keeps the ranking order of the registry', () => {
    expect(rows.map((r) => r.id)).toEqual(ALL_CHECKS.map((c) => c.id));
  });

  const anchors = { 'checks/node.md': anchorsOf('checks/node.md'), 'checks/cluster.md': anchorsOf('checks/cluster.md') };
  for (const c of ALL_CHECKS) {
    it(`${c.id}: severity, category and a link to its section`, () => {
      expect(index).toContain(`\`${c.id}\``);
      const row = rows.find((r) => r.id === c.id);
      expect(row, `${c.id} has no row in the index`).toBeDefined();
      expect(row!.severity.split(' / ')[0]).toBe(c.severity);
      expect(row!.category).toBe(c.category);
      expect(row!.detects).toBe(c.title);
      const [file, hash] = row!.link.split('#');
      expect(file).toBe(NODE_CHECKS.includes(c) ? 'checks/node.md' : 'checks/cluster.md');
      expect(anchors[file as keyof typeof anchors].has(hash), `${row!.link}: no such heading`).toBe(true);
    });
  }
});

// A validator for the part of JSON Schema the documented schema uses, so the doc is checked
// against real output without a dependency.
type Schema = Record<string, unknown>;

function validate(schema: Schema, value: unknown, root: Schema = schema, at = '$'): string[] {
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.replace(/^#\/\$defs\//, '');
    const target = (root.$defs as Record<string, Schema> | undefined)?.[name];
    return target ? validate(target, value, root, at) : [`${at}: unresolved $ref ${schema.$ref}`];
  }
  const errors: string[] = [];
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) errors.push(`${at}: ${JSON.stringify(value)} not in ${JSON.stringify(schema.enum)}`);
  switch (schema.type) {
    case undefined:
      break;
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return [...errors, `${at}: not an object`];
      const obj = value as Record<string, unknown>;
      const props = (schema.properties ?? {}) as Record<string, Schema>;
      for (const k of (schema.required ?? []) as string[]) if (!(k in obj)) errors.push(`${at}: missing ${k}`);
      for (const [k, v] of Object.entries(obj)) {
        if (props[k]) errors.push(...validate(props[k], v, root, `${at}.${k}`));
        else if (schema.additionalProperties === false) errors.push(`${at}: unexpected property ${k}`);
      }
      break;
    }
    case 'array':
      if (!Array.isArray(value)) return [...errors, `${at}: not an array`];
      if (schema.items) value.forEach((v, i) => errors.push(...validate(schema.items as Schema, v, root, `${at}[${i}]`)));
      break;
    case 'string':
      if (typeof value !== 'string') return [...errors, `${at}: not a string`];
      if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) errors.push(`${at}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
      break;
    case 'integer':
      if (!Number.isInteger(value)) return [...errors, `${at}: not an integer`];
      if (typeof schema.minimum === 'number' && (value as number) < schema.minimum) errors.push(`${at}: ${String(value)} < ${schema.minimum}`);
      break;
    default:
      errors.push(`${at}: schema type ${String(schema.type)} not supported by this validator`);
  }
  return errors;
}

const jsonBlocks = [...index.matchAll(/^```json\n([\s\S]*?)^```$/gm)].map((m) => JSON.parse(m[1]) as Schema);
const schema = jsonBlocks.find((b) => typeof b.$schema === 'string')!;
const example = jsonBlocks.find((b) => b !== schema && 'findings' in b)!;

/** What `diagnose --json` prints for a bundle. */
async function diagnoseJson(dir: string): Promise<unknown> {
  const d = diagnose(await loadBundle(dir));
  return JSON.parse(JSON.stringify(d, jsonReplacer));
}

describe('docs/checks.md `diagnose --json` schema', () => {
  it('is in the document, with an example', () => {
    expect(schema).toBeDefined();
    expect(example).toBeDefined();
  });

  it('names every severity and category the checks use', () => {
    const defs = schema.$defs as Record<string, Schema>;
    for (const c of ALL_CHECKS) {
      expect(defs.severity.enum).toContain(c.severity);
      expect(defs.category.enum).toContain(c.category);
      expect(validate({ $ref: '#/$defs/checkId' }, c.id, schema)).toEqual([]);
    }
  });

  it('accepts the example', () => {
    expect(validate(schema, example)).toEqual([]);
  });

  const bundles = [path.join(ROOT, 'samples', 'lab-bundle'), ...readdirSync(path.join(ROOT, 'test', 'fixtures', 'real-world')).map((d) => path.join(ROOT, 'test', 'fixtures', 'real-world', d))];
  for (const dir of bundles) {
    it(`accepts the diagnosis of ${path.relative(ROOT, dir)}`, async () => {
      const out = await diagnoseJson(dir);
      expect(validate(schema, out)).toEqual([]);
    });
  }

  it('rejects a malformed diagnosis (the validator is not vacuous)', async () => {
    const out = (await diagnoseJson(path.join(ROOT, 'samples', 'lab-bundle'))) as { findings: Array<Record<string, unknown>>; counts: Record<string, unknown> };
    expect(out.findings.length).toBeGreaterThan(0);
    const bad = structuredClone(out);
    delete bad.findings[0].evidence;
    bad.findings[0].severity = 'fatal';
    bad.counts.extra = 1;
    const errors = validate(schema, bad);
    expect(errors).toEqual(
      expect.arrayContaining([expect.stringContaining('missing evidence'), expect.stringContaining('"fatal" not in'), expect.stringContaining('unexpected property extra')]),
    );
  });
});
