// A throw-away certificate authority for TLS tests, made with the openssl CLI in a temp dir.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCert {
  certFile: string;
  keyFile: string;
  fingerprint256: string;
}

export interface TestCa {
  /** The CA certificate (PEM), for clients to trust. */
  pem: string;
  /** A server certificate for localhost and 127.0.0.1 signed by the CA, with its own key; `name` names the files. */
  issue(name: string): TestCert;
  close(): void;
}

const openssl = (dir: string, args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
const P256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** Makes a CA valid for a day. */
export function makeTestCa(): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'netpoke-ca-'));
  openssl(dir, ['req', '-x509', ...P256, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=NetPoke test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n');
  return {
    pem: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    issue(name) {
      openssl(dir, ['req', ...P256, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=localhost']);
      openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'server.ext', '-out', `${name}.pem`]);
      const certFile = join(dir, `${name}.pem`);
      return { certFile, keyFile: join(dir, `${name}.key`), fingerprint256: new X509Certificate(readFileSync(certFile)).fingerprint256 };
    },
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}
