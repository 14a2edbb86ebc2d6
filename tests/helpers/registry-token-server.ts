// A token service for a real docker-registry with `auth: token`, following the
// Distribution token contract: GET <realm>?service=..&scope=repository:name:actions
// with optional Basic credentials answers {"token", "access_token",
// "expires_in", "issued_at"}; the token is an ES256 JWT whose x5c header
// carries a self-signed certificate the registry trusts (rootcertbundle).
// Known users get the actions they ask for; anonymous callers get none.
import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { tempDir } from './tmp.ts';
import { listenLocal } from './local-http.ts';

export interface TokenRequest {
  service: string;
  scopes: string[];
  /** The user name Basic auth carried, '' when anonymous. */
  user: string;
  granted: boolean;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

export class TokenServer {
  readonly service = 'qg-test-registry';
  readonly issuer = 'qg-test-issuer';
  readonly certPath: string;
  readonly requests: TokenRequest[] = [];
  /** Every token issued, so a test can prove none was printed. */
  readonly issued: string[] = [];
  realm = '';
  private readonly server: Server;
  private readonly keyPem: string;
  private readonly certDer: Buffer;
  private readonly users: Record<string, string>;

  private constructor(users: Record<string, string>) {
    this.users = users;
    const dir = tempDir('qg-token-');
    this.certPath = join(dir, 'token.crt');
    const keyPath = join(dir, 'token.key');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyPath,
        '-out',
        this.certPath,
        '-days',
        '2',
        '-subj',
        '/CN=qg-test-token-signer'
      ],
      { stdio: 'ignore' }
    );
    this.keyPem = readFileSync(keyPath, 'utf8');
    this.certDer = new X509Certificate(readFileSync(this.certPath)).raw;
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const service = url.searchParams.get('service') ?? '';
      const scopes = url.searchParams.getAll('scope');
      const auth = req.headers.authorization ?? '';
      let user = '';
      let known = false;
      if (auth.startsWith('Basic ')) {
        const [u, ...rest] = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':');
        user = u;
        if (this.users[u] === undefined || this.users[u] !== rest.join(':')) {
          this.requests.push({ service, scopes, user, granted: false });
          res.writeHead(401, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ details: 'incorrect username or password' }));
          return;
        }
        known = true;
      }
      this.requests.push({ service, scopes, user, granted: known });
      const token = this.token(user, service, known ? scopes : []);
      this.issued.push(token);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          token,
          access_token: token,
          expires_in: 300,
          issued_at: new Date().toISOString()
        })
      );
    });
  }

  static async start(users: Record<string, string>): Promise<TokenServer> {
    const s = new TokenServer(users);
    s.realm = `http://127.0.0.1:${await listenLocal(s.server)}/token`;
    return s;
  }

  private token(subject: string, service: string, scopes: string[]): string {
    const access = scopes.flatMap((s) => {
      const m = /^(repository):(.+):([a-z,*]+)$/.exec(s);
      return m ? [{ type: m[1], name: m[2], actions: m[3].split(',') }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'ES256', x5c: [this.certDer.toString('base64')] };
    const claims = {
      iss: this.issuer,
      sub: subject,
      aud: service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = sign('sha256', Buffer.from(input), {
      key: createPrivateKey(this.keyPem),
      dsaEncoding: 'ieee-p1363'
    });
    return `${input}.${b64url(sig)}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
