import { join } from 'node:path';
import { insertSurveyCapture, setSurveyCaptureFiles } from '../../shared/db/surveys.js';
import { nowMs } from '../../shared/time.js';
import type { Logger } from '../log.js';
import type { MetricWriter } from '../metric-writer.js';
import { releaseSealed, sealCapture, type CaptureBudget, type ConnCapture } from './capture-buffer.js';
import type { CaptureWriter } from './capture-writer.js';
import type { CaptureHandoff } from './capture-handoff.js';

/** The relay's capture parts: the memory budget every connection's capture draws on, and the file writer. */
export interface CaptureStore {
  budget: CaptureBudget;
  files: CaptureWriter;
}

export interface SaveContext {
  captures: CaptureStore;
  writer: MetricWriter;
  log: Logger;
  dataDir: string;
  relayAddr: { ip: string; port: number };
  handoff?: CaptureHandoff;
}

/** What a stop needs of the connection. */
export interface CaptureOwner {
  capture: ConnCapture | null;
  connId: string;
  peerId: string;
  clientAddr: { ip: string; port: number } | null;
}

const saved = new WeakMap<ConnCapture, Promise<boolean>>();

/** Where a connection's capture of a survey goes: the peer id (unique, from the edge) makes it one file per connection. */
export function capturePath(dataDir: string, surveyId: string, connId: string, peerId: string): string {
  // conn_id is the client's text: encoded so it can never leave the survey's folder.
  return join(dataDir, 'captures', encodeURIComponent(surveyId), `${encodeURIComponent(connId)}-${encodeURIComponent(peerId)}.pcapng`);
}

/**
 * Ends the connection's capture and writes it as pcapng (in the writer's thread), then records it in
 * survey_captures. Once per capture: a repeated stop gets the same answer, and no work is redone.
 * Resolves to whether the file is there.
 */
export function saveCapture(ctx: SaveContext, s: CaptureOwner, surveyId: string): Promise<boolean> {
  const cap = s.capture;
  if (!cap) return Promise.resolve(false);
  let done = saved.get(cap);
  if (!done) {
    done = write(ctx, s, cap, surveyId);
    saved.set(cap, done);
  }
  return done;
}

async function write(ctx: SaveContext, s: CaptureOwner, cap: ConnCapture, surveyId: string): Promise<boolean> {
  if (cap.sealed) return false;
  const sealed = sealCapture(cap);
  const path = capturePath(ctx.dataDir, surveyId, s.connId, s.peerId);
  const comment = `NetPoke survey ${surveyId} conn ${s.connId} peer ${s.peerId}, ${sealed.records} messages${sealed.dropped ? `, ${sealed.dropped} oldest dropped` : ''}, written ${new Date(nowMs()).toISOString()}`;
  try {
    const file = await ctx.captures.files.write({
      path,
      chunks: sealed.chunks,
      meta: { client: s.clientAddr ?? { ip: '0.0.0.0', port: 0 }, relay: ctx.relayAddr, comment },
    });
    const row = { session_id: surveyId, conn_id: s.connId, peer_id: s.peerId, path, bytes: file.bytes, records: file.records, dropped: sealed.dropped, created_at: Date.now() };
    ctx.writer.enqueue({ stmt: insertSurveyCapture(row) });
    // keylog_path stays NULL: libdatachannel links OpenSSL statically and exposes no DTLS key export.
    ctx.writer.enqueue({ stmt: setSurveyCaptureFiles(surveyId, path, null) });
    ctx.handoff?.add({ session_id: surveyId, conn_id: s.connId, peer_id: s.peerId, path });
    return true;
  } catch (e) {
    ctx.log('error', 'could not write the capture file', { path, error: e instanceof Error ? e.message : String(e) });
    return false;
  } finally {
    releaseSealed(ctx.captures.budget, sealed);
  }
}
