// Test processes reuse an idle HTTP connection for at most 1 s. workerd closes idle keep-alive connections
// after a few seconds; undici's default (4 s) leaves a window where a request written on a connection the
// server is closing fails with "other side closed" — seen in CI on a non-idempotent POST, which undici never
// retries. Servers here are on loopback, so new connections cost nothing.
import { Agent, setGlobalDispatcher } from 'undici';

setGlobalDispatcher(new Agent({ keepAliveTimeout: 1_000, keepAliveMaxTimeout: 1_000 }));
