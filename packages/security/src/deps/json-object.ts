// The one structural test every reader of untrusted JSON/TOML/YAML here needs.

export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
