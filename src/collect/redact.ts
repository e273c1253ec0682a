/**
 * Redaction of secrets from everything a collector writes (on by default). Two layers:
 *
 * - `redactText`: pattern-based, for raw command output and logs — PEM blocks, base64-encoded
 *   PEM (kubeconfig `*-data` fields), JWTs, `Authorization:` headers and bearer tokens,
 *   `key = value` / `"key": "value"` pairs whose key names a secret (password, token,
 *   private key, …), credentials in URLs, and well-known token formats (AWS, GitHub, GitLab,
 *   Slack, Google, Kubernetes bootstrap tokens).
 * - `redactObject`: structure-aware, for Kubernetes/Calico objects — Secret `data`/`stringData`
 *   values, fields whose name is a secret (`password`, `token`, `wireguardPrivateKey`,
 *   `client-key-data`, …), secret-looking container env values, the embedded
 *   `last-applied-configuration` annotation; then `redactText` on every remaining string.
 *
 * Public keys (e.g. Calico's `wireguardPublicKey`) are kept: they are needed for diagnosis and
 * are not secret. References to secrets (`secretKeyRef`, `secretName`) are kept too.
 */

export const REDACTED = '<redacted>';

export interface Redacted<T> {
  value: T;
  /** Number of values replaced. */
  count: number;
}

// Key names whose (string) value is a secret, matched on the key split into words
// (camelCase, snake_case and dots become dashes: `wireguardPrivateKey` → `wireguard-private-key`).
const SECRET_KEY_WORDS =
  /(?:^|-)(password|passwd|passphrase|pass|pwd|token|secret|private-key|privatekey|client-key-data|client-certificate-data|client-key|api-key|apikey|access-key|secret-key|credentials?|auth-token|id-token|refresh-token|access-token|bearer-token|pre-shared-key|psk|etcd-key)$/;
/** Keys that look secret-ish but hold names, paths, references or settings. */
const NOT_SECRET_KEY =
  /(?:file|path|dir|ref|name|names|namespace|seconds|ttl|expir\w*|length|count|size|enabled|mode|type|selector|interval|period|public-?key|audiences?|url|uri|id|kind|version)$/i;

function keyWords(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/[_.\s]+/g, '-')
    .toLowerCase();
}

export function isSecretKey(key: string): boolean {
  const w = keyWords(key);
  if (NOT_SECRET_KEY.test(w)) return false;
  return SECRET_KEY_WORDS.test(w);
}

/** For free text: also `dbpassword`, `mytoken` (no word boundary), still not `…File`, `…Ref`, public keys. */
function isSecretKeyLoose(key: string): boolean {
  if (isSecretKey(key)) return true;
  const w = keyWords(key);
  return !NOT_SECRET_KEY.test(w) && /(password|passwd|passphrase|secret|token|privatekey|private-key)$/.test(w);
}

function isHarmlessValue(v: string): boolean {
  return v === '' || v.startsWith(REDACTED) || /^(true|false|null|nil|none|<none>|\*+)$/i.test(v) || /^-?\d+(\.\d+)?$/.test(v);
}

interface TextRule {
  /** Cheap pre-check: skip the regex when the text cannot match. */
  hint?: (s: string) => boolean;
  re: RegExp;
  replace: (m: string, ...groups: string[]) => string;
}

const TEXT_RULES: TextRule[] = [
  // PEM blocks (certificates, private keys; also with literal "\n" escapes inside JSON strings).
  {
    hint: (s) => s.includes('-----BEGIN'),
    re: /-----BEGIN ([A-Z0-9 ]{1,40})-----[\s\S]*?(?:-----END \1-----|$)/g,
    replace: (_m, label) => `-----BEGIN ${label}-----${REDACTED}-----END ${label}-----`,
  },
  // Base64-encoded PEM (kubeconfig certificate-authority-data / client-*-data, Secret data).
  { hint: (s) => s.includes('LS0t'), re: /LS0tLS1CRUdJTi[A-Za-z0-9+/=]{16,}/g, replace: () => REDACTED },
  // JWTs (service-account tokens, OIDC id tokens).
  {
    hint: (s) => s.includes('eyJ'),
    re: /\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*/g,
    replace: () => REDACTED,
  },
  // Authorization headers: keep the scheme, drop the credential.
  {
    hint: (s) => /authorization/i.test(s),
    re: /\b((?:Proxy-)?Authorization)(["']?[ \t]*[:=][ \t]*["']?)(?:(Bearer|Basic|Token|Digest|Negotiate)[ \t]+)?([^\s"',;]+)/gi,
    replace: (m, h, sep, scheme, cred) => (cred.startsWith(REDACTED) ? m : `${h}${sep}${scheme ? `${scheme} ` : ''}${REDACTED}`),
  },
  { hint: (s) => /bearer/i.test(s), re: /\b(Bearer)[ \t]+(?!<redacted>)[A-Za-z0-9._~+/=-]{8,}/gi, replace: (_m, b) => `${b} ${REDACTED}` },
  // key: value / key=value / "key": "value" with a secret key name (quoted values may hold spaces).
  {
    // Only keys ending in a secret-ish word reach the callback (keeps 100 MB dumps fast).
    re: /(["']?)((?:[A-Za-z][\w.-]{0,80}?)?(?:pass(?:word|wd|phrase)?|pwd|token|secret|key|data|credentials?|psk))\1([ \t]*[:=][ \t]*)(?:"((?:[^"\\\n]|\\.)*)"|'([^'\n]*)'|([^\s"',}\]]+))/gi,
    replace: (m, q, key, sep, dq, sq, bare) => {
      const val = dq ?? sq ?? bare ?? '';
      if (!isSecretKeyLoose(key) || isHarmlessValue(val) || val.startsWith('/')) return m;
      const quote = dq !== undefined ? '"' : sq !== undefined ? "'" : '';
      return `${q}${key}${q}${sep}${quote}${REDACTED}${quote}`;
    },
  },
  // user:password@ in URLs (etcd endpoints, proxies).
  { hint: (s) => s.includes('://'), re: /\b([a-z][a-z0-9+.-]*:\/\/)([^/\s:@]+):([^/\s@]+)@/gi, replace: (_m, s, u) => `${s}${u}:${REDACTED}@` },
  // Well-known token formats.
  { re: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, replace: () => REDACTED },
  { hint: (s) => /gh[pousr]_/.test(s), re: /\bgh[pousr]_[A-Za-z0-9]{30,}\b/g, replace: () => REDACTED },
  { hint: (s) => s.includes('glpat-'), re: /\bglpat-[A-Za-z0-9_-]{20,}/g, replace: () => REDACTED },
  { hint: (s) => s.includes('xox'), re: /\bxox[abprs]-[A-Za-z0-9-]{10,}/g, replace: () => REDACTED },
  { hint: (s) => s.includes('AIza'), re: /\bAIza[0-9A-Za-z_-]{35}\b/g, replace: () => REDACTED },
  // Kubernetes bootstrap tokens (abcdef.0123456789abcdef).
  { re: /\b[a-z0-9]{6}\.[a-z0-9]{16}\b/g, replace: (m) => (/\d/.test(m) && /[a-z]/.test(m) ? REDACTED : m) },
];

/** Removes secrets from free text (command output, logs). */
export function redactText(text: string): Redacted<string> {
  let count = 0;
  let out = text;
  for (const rule of TEXT_RULES) {
    if (rule.hint && !rule.hint(out)) continue;
    out = out.replace(rule.re, (...args: unknown[]) => {
      const m = args[0] as string;
      const groups = args.slice(1, -2) as string[];
      const r = rule.replace(m, ...groups);
      if (r !== m) count++;
      return r;
    });
  }
  return { value: out, count };
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const SECRET_ENV_NAME = /pass|secret|token|private|credential|api[-_]?key|access[-_]?key/i;

/** Removes secrets from a Kubernetes/Calico object (or a List of them). Returns a copy. */
export function redactObject<T>(obj: T): Redacted<T> {
  const counter = { n: 0 };
  const value = walk(obj, counter, undefined) as T;
  return { value, count: counter.n };
}

function walk(v: unknown, c: { n: number }, key: string | undefined): unknown {
  if (typeof v === 'string') {
    if (key !== undefined && isSecretKey(key) && !isHarmlessValue(v) && !v.startsWith('/')) {
      c.n++;
      return REDACTED;
    }
    const r = redactText(v);
    c.n += r.count;
    return r.value;
  }
  if (Array.isArray(v)) return v.map((x) => walk(x, c, undefined));
  if (!v || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const isSecret = o.kind === 'Secret' && typeof o.apiVersion === 'string';
  // Container env entries {name, value}: a secret-looking name makes the value secret.
  const isEnv = typeof o.name === 'string' && 'value' in o && Object.keys(o).every((k) => k === 'name' || k === 'value' || k === 'valueFrom');
  for (const [k, x] of Object.entries(o)) {
    if (isSecret && (k === 'data' || k === 'stringData') && x && typeof x === 'object') {
      out[k] = Object.fromEntries(Object.keys(x).map((dk) => [dk, REDACTED]));
      c.n += Object.keys(x).length;
    } else if (isEnv && k === 'value' && typeof x === 'string' && SECRET_ENV_NAME.test(o.name as string) && !isHarmlessValue(x)) {
      out[k] = REDACTED;
      c.n++;
    } else if (k === 'annotations' && x && typeof x === 'object' && !Array.isArray(x)) {
      out[k] = walkAnnotations(x as Record<string, unknown>, c);
    } else {
      out[k] = walk(x, c, k);
    }
  }
  return out;
}

function walkAnnotations(a: Record<string, unknown>, c: { n: number }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(a)) {
    if (k === LAST_APPLIED && typeof x === 'string') {
      // The annotation embeds the whole applied object (a Secret's data, a kubeconfig, …).
      try {
        const inner = walk(JSON.parse(x), c, undefined);
        out[k] = JSON.stringify(inner);
        continue;
      } catch {
        /* not JSON: fall through to text redaction */
      }
    }
    out[k] = walk(x, c, k);
  }
  return out;
}
