// What a contract-server handler receives and answers, shared by the server
// and the stateful fakes.

export interface ContractRequest {
  operationId: string;
  method: string;
  /** The request path, basePath included, not decoded. */
  path: string;
  /** Path parameters, decoded. */
  params: Record<string, string>;
  query: Record<string, string[]>;
  /** Parsed JSON body, or undefined. */
  body: unknown;
  /** The token from `Authorization: token <t>`, if any. */
  token: string | undefined;
  /** http://127.0.0.1:<port> */
  origin: string;
  /** origin + basePath */
  apiUrl: string;
}

export interface ContractResponse {
  status: number;
  /** JSON body; validated against the operation's response schema. */
  body?: unknown;
  /** Bytes instead of JSON (not validated: the contract declares none for such answers). */
  raw?: Buffer;
  headers?: Record<string, string>;
}

export type Handler = (req: ContractRequest) => ContractResponse | Promise<ContractResponse>;

export function firstQuery(req: ContractRequest, name: string): string | undefined {
  return req.query[name]?.[0];
}
