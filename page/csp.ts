// Runs before the page's own code (page/build.ts injects it): zod probes for `new Function` to
// compile fast parsers, which the page's CSP (no 'unsafe-eval') refuses with a violation report
// on every load. Telling zod up front keeps the console clean; it parses the same either way.
import * as z from 'zod';

z.config({ jitless: true });
