// The subset of the global fetch the forge client uses, so tests and proxies
// can inject their own. Redirects are always handled by the client itself
// ('manual'): it decides per hop whether the token may travel along.

export interface FetchResponse {
  status: number;
  headers: { get(name: string): string | null };
  arrayBuffer(): Promise<ArrayBuffer>;
}

export interface FetchInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  redirect: 'manual';
}

export type FetchLike = (url: string, init: FetchInit) => Promise<FetchResponse>;
