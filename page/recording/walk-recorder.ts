// Records a walk during a survey: camera video (MediaRecorder) and a sensor log (position, orientation,
// motion), each written to IndexedDB second by second, timestamped on the survey's clock (ms since epoch,
// like the metric rows).
import { sha256Hex } from '../../client/recording-upload.js';
import { appendPart, createStoredRecording, markReady, storedFile, type StoredRecording } from './recording-store.js';

export interface WalkRecording {
  /** Stops recording; resolves with the finished recordings' ids once they are safely stored. */
  stop(): Promise<string[]>;
}

/** A bounded bitrate: a 30-minute walk stays near 300 MB. */
const VIDEO_BITS_PER_SECOND = 1_200_000;
const VIDEO_TYPES = ['video/webm;codecs=vp9', 'video/webm;codecs=vp8', 'video/webm', 'video/mp4'];
/** Orientation and motion events come at up to 60 Hz; a walk needs far fewer. */
const SENSOR_EVERY_MS = 100;

function deviceInfo(): Record<string, string | number | boolean | null> {
  return { user_agent: navigator.userAgent.slice(0, 500), screen: `${screen.width}x${screen.height}`, pixel_ratio: devicePixelRatio };
}

/** Asks for motion and orientation where the browser wants a user gesture for it (iOS); call from the Start click. */
export async function askSensorPermission(): Promise<void> {
  for (const E of [globalThis.DeviceOrientationEvent, globalThis.DeviceMotionEvent] as unknown[]) {
    const ask = (E as { requestPermission?: () => Promise<string> } | undefined)?.requestPermission;
    if (ask) await ask().catch(() => 'denied');
  }
}

/** Starts what was asked for; a refused camera or sensor is reported through `onNote` and the rest goes on. */
export async function startWalkRecording(opts: { surveyId: string; magicKey: string; video: boolean; sensors: boolean; notes?: string; onNote: (text: string) => void }): Promise<WalkRecording> {
  const stops: (() => Promise<string | null>)[] = [];
  if (opts.video) {
    try {
      stops.push(await startVideo(opts));
    } catch (e) {
      opts.onNote(`Video is not recorded: ${(e as Error).message || 'the camera was refused'}.`);
    }
  }
  if (opts.sensors) stops.push(await startSensors(opts));
  return {
    async stop() {
      const ids = await Promise.all(stops.map((s) => s()));
      return ids.filter((x): x is string => x !== null);
    },
  };
}

async function newRecording(opts: { surveyId: string; magicKey: string; notes?: string }, kind: 'video' | 'sensors', mime: string): Promise<StoredRecording> {
  const r: StoredRecording = {
    recording_id: crypto.randomUUID(),
    survey_session_id: opts.surveyId,
    kind,
    mime,
    started_at: Date.now(),
    magic_key: opts.magicKey,
    device_info: deviceInfo(),
    ...(opts.notes ? { notes: opts.notes } : {}),
    state: 'recording',
    created_at: Date.now(),
  };
  await createStoredRecording(r);
  return r;
}

/** Seals a recording: its SHA-256 over the stored parts, and 'ready'. */
async function seal(r: StoredRecording): Promise<string> {
  const file = await storedFile(r.recording_id, r.mime);
  await markReady(r.recording_id, file.size, await sha256Hex(file));
  return r.recording_id;
}

async function startVideo(opts: { surveyId: string; magicKey: string; notes?: string }): Promise<() => Promise<string | null>> {
  if (!navigator.mediaDevices?.getUserMedia || typeof MediaRecorder === 'undefined') throw new Error('this browser cannot record video');
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment', width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false });
  const mimeType = VIDEO_TYPES.find((t) => MediaRecorder.isTypeSupported(t)) ?? '';
  const recorder = new MediaRecorder(stream, { ...(mimeType ? { mimeType } : {}), videoBitsPerSecond: VIDEO_BITS_PER_SECOND });
  const rec = await newRecording(opts, 'video', recorder.mimeType || mimeType || 'video/webm');
  let seq = 0;
  let writes = Promise.resolve();
  recorder.ondataavailable = (e) => {
    if (e.data.size === 0) return;
    const n = seq++;
    writes = writes.then(() => appendPart(rec.recording_id, n, e.data));
  };
  const stopped = new Promise<void>((resolve) => (recorder.onstop = () => resolve()));
  recorder.start(1000);
  rec.started_at = Date.now();
  await createStoredRecording(rec);
  return async () => {
    if (recorder.state !== 'inactive') recorder.stop();
    await stopped;
    for (const t of stream.getTracks()) t.stop();
    await writes;
    return seq > 0 ? seal(rec) : null;
  };
}

async function startSensors(opts: { surveyId: string; magicKey: string; notes?: string }): Promise<() => Promise<string | null>> {
  const rec = await newRecording(opts, 'sensors', 'application/x-ndjson');
  let lines: string[] = [];
  let seq = 0;
  let writes = Promise.resolve();
  const last: Record<string, number> = {};
  const log = (type: string, data: Record<string, number | null>, throttle = true) => {
    const t = Date.now();
    if (throttle && t - (last[type] ?? 0) < SENSOR_EVERY_MS) return;
    last[type] = t;
    lines.push(JSON.stringify({ t, type, ...data }));
  };
  const flush = () => {
    if (!lines.length) return;
    const blob = new Blob([lines.join('\n') + '\n'], { type: 'application/x-ndjson' });
    lines = [];
    const n = seq++;
    writes = writes.then(() => appendPart(rec.recording_id, n, blob));
  };
  const watch = navigator.geolocation?.watchPosition(
    (p) => log('position', { lat: p.coords.latitude, lon: p.coords.longitude, accuracy_m: p.coords.accuracy, altitude_m: p.coords.altitude, heading: p.coords.heading, speed_mps: p.coords.speed }, false),
    (e) => log('position_error', { code: e.code }, false),
    { enableHighAccuracy: true, maximumAge: 0 },
  );
  const onOrientation = (e: DeviceOrientationEvent) => log('orientation', { alpha: e.alpha, beta: e.beta, gamma: e.gamma });
  const onMotion = (e: DeviceMotionEvent) => log('motion', { ax: e.acceleration?.x ?? null, ay: e.acceleration?.y ?? null, az: e.acceleration?.z ?? null });
  addEventListener('deviceorientation', onOrientation);
  addEventListener('devicemotion', onMotion);
  const timer = setInterval(flush, 1000);
  return async () => {
    clearInterval(timer);
    if (watch !== undefined) navigator.geolocation.clearWatch(watch);
    removeEventListener('deviceorientation', onOrientation);
    removeEventListener('devicemotion', onMotion);
    flush();
    await writes;
    return seq > 0 ? seal(rec) : null;
  };
}
