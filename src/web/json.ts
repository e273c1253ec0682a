/** JSON for the web API and the report: models hold Maps, Sets and bigints, which JSON has not. */
export function webJsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return undefined;
  if (typeof value === 'function') return undefined;
  return value;
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, webJsonReplacer);
}

/** JSON safe to embed in an HTML `<script>` element (no `</script>`, no `<!--`, no U+2028/9 surprises). */
export function jsonForHtml(value: unknown): string {
  return toJson(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}
