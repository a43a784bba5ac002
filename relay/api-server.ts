// The internal API's listener: plain HTTP, or HTTPS with the relay's certificate, which reloadTls() swaps in place.
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { serve, type ServerType } from '@hono/node-server';
import { ConfigError } from '../shared/config.js';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

export interface ApiServer {
  server: ServerType;
  port: number;
  scheme: 'http' | 'https';
  /** The certificate served (null without TLS). */
  cert: CertInfo | null;
  /** Reads the certificate and key files again and serves new connections with them; resolves to the new certificate (null without TLS). */
  reloadTls(): Promise<CertInfo | null>;
}

/** What the log says of a certificate in use. */
export interface CertInfo {
  fingerprint256: string;
  validTo: string;
}

/** Listens on `host:port` (0: any free port) with `fetch`; HTTPS when `tls` names a certificate and key. */
export async function listenApi(fetch: (req: Request) => Response | Promise<Response>, opts: { host: string; port: number; tls?: TlsFiles }): Promise<ApiServer> {
  const pair = opts.tls ? await readPair(opts.tls) : null;
  let server!: ServerType;
  const port = await new Promise<number>((resolve, reject) => {
    try {
      server = serve(
        { fetch, hostname: opts.host, port: opts.port, ...(pair ? { createServer: createHttpsServer, serverOptions: pair } : {}) },
        (info) => resolve(info.port),
      );
    } catch (e) {
      // A key that does not belong to the certificate fails here, before anything listens.
      reject(new ConfigError(`RELAY_TLS_CERT_FILE / RELAY_TLS_KEY_FILE: the certificate and key cannot be used together: ${(e as Error).message}`));
      return;
    }
    server.once('error', reject);
  });
  return {
    server,
    port,
    scheme: pair ? 'https' : 'http',
    cert: pair ? certInfo(pair.cert) : null,
    async reloadTls() {
      if (!opts.tls) return null;
      const next = await readPair(opts.tls);
      // Throws on a mismatched pair, and the certificate served so far stays; connections already open keep theirs.
      (server as HttpsServer).setSecureContext(next);
      return certInfo(next.cert);
    },
  };
}

async function readPair(tls: TlsFiles): Promise<{ cert: string; key: string }> {
  const read = async (file: string, name: string) => {
    try {
      return await readFile(file, 'utf8');
    } catch (e) {
      throw new ConfigError(`${name}: cannot read ${file}: ${(e as Error).message}`);
    }
  };
  const [cert, key] = await Promise.all([read(tls.certFile, 'RELAY_TLS_CERT_FILE'), read(tls.keyFile, 'RELAY_TLS_KEY_FILE')]);
  certInfo(cert);
  return { cert, key };
}

function certInfo(certPem: string): CertInfo {
  try {
    const cert = new X509Certificate(certPem);
    return { fingerprint256: cert.fingerprint256, validTo: cert.validTo };
  } catch (e) {
    throw new ConfigError(`RELAY_TLS_CERT_FILE: not a PEM certificate: ${(e as Error).message}`);
  }
}
