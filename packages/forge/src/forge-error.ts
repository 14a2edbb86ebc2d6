// The one error the forge client throws: a ToolError of kind 'forge-api'
// (the gate's policy decides its verdict) that carries the HTTP status and
// the request it answers, always on one line and never with the token.

import { ToolError } from '../../core/src/errors.ts';

/** ToolError kind for any failure talking to the forge's REST API. */
export const FORGE_API = 'forge-api';

export class ForgeError extends ToolError {
  /** The HTTP status, when the server answered at all. */
  readonly status: number | undefined;
  readonly method: string;
  /** The API path (no query string), or origin + path for a hop outside the API. */
  readonly path: string;
  /** The server's own message (its JSON `message`, one line), '' when it gave none. */
  readonly said: string;
  constructor(
    message: string,
    request: { method: string; path: string; status?: number; said?: string }
  ) {
    super(FORGE_API, message.replace(/\s*\n\s*/g, ' '));
    this.name = 'ForgeError';
    this.status = request.status;
    this.method = request.method;
    this.path = request.path;
    this.said = request.said ?? '';
  }
}
