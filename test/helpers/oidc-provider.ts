// A real OpenID provider (the oidc-provider package) on a free loopback port, with its development login and consent pages.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

/** The little of oidc-provider's API the tests use (the package ships no types). */
interface ProviderLike {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
}
type ProviderCtor = new (issuer: string, config: Record<string, unknown>) => ProviderLike;

export interface TestOidcProvider {
  /** e.g. http://127.0.0.1:41234 */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Builds the provider with the client's redirect URI (known once the edge runs) and starts answering; until then every request gets 503. */
  start(redirectUri: string): Promise<void>;
  close(): Promise<void>;
}

/** Binds a free port first, so the issuer URL can go into the edge's config before the provider (which needs the edge's URL) exists. */
export async function listenOidcProvider(): Promise<TestOidcProvider> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;
  const server = createServer((req, res) => {
    if (handler) return handler(req, res);
    res.writeHead(503).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const clientId = 'netpoke-test';
  const clientSecret = randomBytes(24).toString('base64url');
  return {
    issuer,
    clientId,
    clientSecret,
    async start(redirectUri) {
      // A specifier that is not a literal keeps tsc from looking for the types the package does not ship.
      const { default: Provider } = (await import('oidc-provider' as string)) as { default: ProviderCtor };
      const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
      const provider = new Provider(issuer, {
        clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri], grant_types: ['authorization_code'], response_types: ['code'] }],
        pkce: { required: () => true },
        claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
        // Whoever types a login into the login form (any password) is that account: subject and verified e-mail both the login.
        findAccount: (_ctx: unknown, login: string) => ({
          accountId: login,
          claims: () => ({ sub: login, email: login, email_verified: true, name: login }),
        }),
        jwks: { keys: [{ ...signingKey, kid: 'test', use: 'sig', alg: 'RS256' }] },
        cookies: { keys: [randomBytes(32).toString('hex')] },
        features: { devInteractions: { enabled: true } },
      });
      handler = provider.callback();
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
