// The edge's side of the sign-in protocol with a provider, through oauth4webapi: the authorization URL, then code → verified identity.
// OpenID issuers are discovered and their ID token checked; GitHub is plain OAuth 2, its identity read from its API.
import * as oauth from 'oauth4webapi';
import * as z from 'zod';
import type { OidcProvider } from '../config.js';
import { HttpError } from '../errors.js';
import type { OidcFlow } from './oidc-flows.js';

/** Who the provider says signed in. */
export interface ProviderIdentity {
  /** The identity's namespace: the OpenID issuer, or https://github.com. */
  issuer: string;
  subject: string;
  /** Lower-cased; null when the provider gave none. */
  email: string | null;
  emailVerified: boolean;
}

/** One provider as oauth4webapi sees it, for one request. */
interface ProviderSession {
  as: oauth.AuthorizationServer;
  client: oauth.Client;
  auth: oauth.ClientAuth;
  /** Plain-http issuers are for local mode only (a provider started on loopback). */
  http: { [oauth.allowInsecureRequests]?: boolean };
}

const GITHUB: oauth.AuthorizationServer = {
  issuer: 'https://github.com',
  authorization_endpoint: 'https://github.com/login/oauth/authorize',
  token_endpoint: 'https://github.com/login/oauth/access_token',
};
const GITHUB_API = 'https://api.github.com';

/** A refusal the person reads on the login page. */
const refused = (message: string) => new HttpError('login_failed', message);

/** The provider's metadata (discovered for an OpenID issuer, fixed for GitHub) and how the edge authenticates to it. */
async function session(p: OidcProvider, mode: 'local' | 'deployed'): Promise<ProviderSession> {
  const http = mode === 'local' ? { [oauth.allowInsecureRequests]: true } : {};
  const client: oauth.Client = { client_id: p.clientId };
  if (p.type === 'github') return { as: GITHUB, client, auth: oauth.ClientSecretPost(p.clientSecret), http };
  if (mode !== 'local' && !p.issuer.startsWith('https://')) throw refused(`the sign-in provider ${p.name} is misconfigured (its issuer must be an https URL); tell an admin`);
  const issuer = new URL(p.issuer);
  const as = await guard(p, 'discovery', async () => oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...http })));
  // client_secret_basic is the default of the spec; post only for a provider that does not take it.
  const methods = as.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
  const auth = methods.includes('client_secret_basic') ? oauth.ClientSecretBasic(p.clientSecret) : oauth.ClientSecretPost(p.clientSecret);
  return { as, client, auth, http };
}

/** Begins a sign-in: fresh state, nonce and PKCE verifier (to be stored) and the provider URL to send the browser to. */
export async function beginSignIn(p: OidcProvider, mode: 'local' | 'deployed', redirectUri: string, returnTo: string): Promise<{ state: string; flow: OidcFlow; url: URL }> {
  const { as } = await session(p, mode);
  const state = oauth.generateRandomState();
  const flow: OidcFlow = { provider: p.id, codeVerifier: oauth.generateRandomCodeVerifier(), nonce: oauth.generateRandomNonce(), returnTo };
  const url = new URL(as.authorization_endpoint!);
  url.searchParams.set('client_id', p.clientId);
  url.searchParams.set('redirect_uri', redirectUri);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', p.scopes);
  url.searchParams.set('state', state);
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(flow.codeVerifier));
  url.searchParams.set('code_challenge_method', 'S256');
  if (p.type === 'oidc') url.searchParams.set('nonce', flow.nonce);
  return { state, flow, url };
}

/**
 * Finishes a sign-in: checks the provider's answer on the callback URL, trades
 * the code (with the PKCE verifier and the client secret) for tokens, and
 * returns the identity: from the validated ID token (issuer, audience, nonce,
 * expiry), with the UserInfo endpoint filling in an e-mail the token lacks;
 * for GitHub, from its user API.
 */
export async function finishSignIn(p: OidcProvider, mode: 'local' | 'deployed', callbackUrl: URL, state: string, flow: OidcFlow, redirectUri: string): Promise<ProviderIdentity> {
  const { as, client, auth, http } = await session(p, mode);
  const params = await guard(p, 'authorization', async () => oauth.validateAuthResponse(as, client, callbackUrl, state));
  const grant = () => oauth.authorizationCodeGrantRequest(as, client, auth, params, redirectUri, flow.codeVerifier, http);
  if (p.type === 'github') {
    const tokens = await guard(p, 'token', async () => oauth.processAuthorizationCodeResponse(as, client, await grant()));
    return guard(p, 'user', () => githubIdentity(tokens.access_token));
  }
  const tokens = await guard(p, 'token', async () => oauth.processAuthorizationCodeResponse(as, client, await grant(), { expectedNonce: flow.nonce, requireIdToken: true }));
  const idToken = oauth.getValidatedIdTokenClaims(tokens)!;
  let claims = EmailClaimsSchema.parse(idToken);
  if (claims.email === undefined && as.userinfo_endpoint) {
    const info = await guard(p, 'userinfo', async () =>
      oauth.processUserInfoResponse(as, client, idToken.sub, await oauth.userInfoRequest(as, client, tokens.access_token, http)),
    );
    claims = EmailClaimsSchema.parse(info);
  }
  return { issuer: as.issuer, subject: idToken.sub, email: claims.email?.toLowerCase() ?? null, emailVerified: claims.email_verified === true };
}

/** `email` and `email_verified` as a provider sends them; some send the flag as the text "true". */
const EmailClaimsSchema = z.object({
  email: z.email().max(254).optional().catch(undefined),
  email_verified: z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean().optional().catch(undefined)),
});

const GithubUserSchema = z.object({ id: z.number().int().positive() });
const GithubEmailsSchema = z.array(z.object({ email: z.string(), primary: z.boolean(), verified: z.boolean() }));

/** GitHub's account id and its primary e-mail, when GitHub has verified it. */
async function githubIdentity(accessToken: string): Promise<ProviderIdentity> {
  const get = async <S extends z.ZodType>(path: string, schema: S): Promise<z.infer<S>> => {
    // GitHub's API refuses requests without a User-Agent.
    const res = await fetch(`${GITHUB_API}${path}`, { headers: { authorization: `Bearer ${accessToken}`, accept: 'application/vnd.github+json', 'user-agent': 'NetPoke' } });
    if (!res.ok) throw new Error(`GET ${path} answered ${res.status}`);
    return schema.parse(await res.json());
  };
  const user = await get('/user', GithubUserSchema);
  const primary = (await get('/user/emails', GithubEmailsSchema)).find((e) => e.primary && e.verified);
  return { issuer: GITHUB.issuer, subject: String(user.id), email: primary?.email.toLowerCase() ?? null, emailVerified: primary !== undefined };
}

/**
 * Runs one step with the provider; a failure is logged for the operator (its
 * kind and oauth4webapi's reason, never a code or token) and becomes a
 * refusal that says what to do.
 */
async function guard<T>(p: OidcProvider, step: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof HttpError) throw err;
    if (err instanceof oauth.AuthorizationResponseError) {
      // The person said no at the provider, or the provider turned the request down.
      throw refused(`${p.name} did not sign you in (${err.error}); try again`);
    }
    const e = err as { name?: string; code?: string; message?: string; error?: string };
    console.error(`edge: sign-in with ${p.id} failed at ${step}: ${e.name ?? 'Error'}${e.code ? ` ${e.code}` : ''}${e.error ? ` ${e.error}` : ''}: ${e.message ?? ''}`);
    throw refused(step === 'discovery' ? `${p.name} cannot be reached right now; try again later` : `signing in with ${p.name} failed; try again, and tell an admin if it keeps failing`);
  }
}
