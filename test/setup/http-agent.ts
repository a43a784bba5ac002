// Test processes open a new HTTP connection per request (undici's pipelining 0: no keep-alive). workerd closes idle
// keep-alive connections on its own schedule; reusing one, even within 1 s, still met "other side closed" and
// ECONNRESET on CI for a non-idempotent POST, which undici never retries. Servers here are on loopback, so new
// connections cost nothing.
import { Agent, setGlobalDispatcher } from 'undici';

setGlobalDispatcher(new Agent({ pipelining: 0 }));
