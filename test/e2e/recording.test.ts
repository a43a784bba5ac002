// A technician records the walk in Chromium (fake camera, mocked position) during a real survey through the
// edge in workerd and a real relay; the recording is kept in IndexedDB and uploaded in chunks to the edge's
// local R2; a reload mid-upload resumes from the server's answer; both files land verified.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMagicKey, type MagicKey } from '../../shared/db/keys.js';
import { hashPassword } from '../../shared/auth/password.js';
import { createUser, setGrants } from '../../shared/db/users.js';
import { eventually } from '../helpers/system.js';
import { ARTIFACTS, submitLogin, useBrowserStack } from '../helpers/use-browser-stack.js';

const CHUNK = 64 * 1024;
const POSITION = { latitude: 48.8584, longitude: 2.2945, accuracy: 5 };

const stack = useBrowserStack({
  edgeVars: { RECORDING_CHUNK_BYTES: String(CHUNK) },
  chromiumArgs: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required'],
});
let context: BrowserContext;
let key: MagicKey;

beforeAll(async () => {
  key = await createMagicKey(stack.db.db, { label: 'walk' });
  await createUser(stack.db.db, { login: 'walk-analyst', role: 'analyst', passwordHash: await hashPassword('walk-analyst-pass-1') });
  await setGrants(stack.db.db, 'walk-analyst', [key.key_id], null);
  context = await stack.browser.newContext({ viewport: { width: 1200, height: 1400 }, geolocation: POSITION, permissions: ['geolocation', 'camera'] });
});

const recordings = async (surveyId: string) =>
  (await stack.db.db.execute({ sql: 'SELECT recording_id, kind, mime, upload_status, storage_key, sha256, video_size_bytes, sensor_size_bytes, started_at FROM recordings WHERE session_id = ? ORDER BY kind', args: [surveyId] })).rows;

describe('recording the walk', () => {
  it('records video and sensors during a survey, uploads them, and a reload mid-upload resumes from the server\'s answer', async () => {
    const page = await context.newPage();
    await page.goto(`${stack.edge.url}/?key=${key.key}`);
    await page.check('#record-video');
    await page.check('#record-sensors');
    await page.fill('#record-notes', 'east wing, ground floor');
    await page.click('#start');
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('Measuring'), null, { timeout: 20_000 });
    const surveyId = ((await page.locator('#session').textContent()) ?? '').replace('Survey ', '');
    // About 5 s of measuring (500 probes each way), then Stop.
    await page.waitForFunction(() => Number(document.querySelector('td[data-metric="probe_count"][data-dir="s2c"][data-window="60s"]')?.textContent) >= 450, null, { timeout: 20_000 });
    // A slow uplink, so that the upload is still under way when the page reloads.
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 48 * 1024 });
    await page.click('#stop');
    await page.waitForFunction(() => {
      const p = document.querySelector<HTMLProgressElement>('#upload-progress');
      return document.querySelector('#upload-status')?.textContent?.startsWith('Uploading: Video') && p !== null && p.value >= 2 * 64 * 1024 && p.value < p.max - 64 * 1024;
    }, null, { timeout: 60_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'recording-uploading.png'), fullPage: true });
    const video = await eventually(async () => (await recordings(surveyId)).find((r) => r.kind === 'video') ?? null);
    const heldBefore = Number((await stack.db.db.execute({ sql: 'SELECT count(*) AS n FROM recording_chunks WHERE recording_id = ?', args: [String(video.recording_id)] })).rows[0]!.n);
    expect(heldBefore).toBeGreaterThanOrEqual(2);
    expect(video.upload_status).toBe('pending');

    // Reload mid-upload, at full speed again: the page finds the recording in IndexedDB and asks the server where it stands.
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    const chunkPuts: number[] = [];
    page.on('request', (r) => {
      const m = /\/api\/recordings\/([^/]+)\/chunks\/(\d+)$/.exec(r.url());
      if (m && m[1] === video.recording_id && r.method() === 'PUT') chunkPuts.push(Number(m[2]));
    });
    await page.reload();
    await page.waitForFunction(() => document.querySelector('#upload-status')?.textContent?.startsWith('Uploaded and verified'), null, { timeout: 60_000 });
    await eventually(async () => (await recordings(surveyId)).every((r) => r.upload_status === 'complete') && (await recordings(surveyId)).length === 2, 30_000);
    await page.screenshot({ path: join(ARTIFACTS, 'recording-uploaded.png'), fullPage: true });
    // Chunks the server already held before the reload were not sent again.
    const totalChunks = Math.ceil(Number(video.video_size_bytes) / CHUNK);
    expect(chunkPuts.length).toBeGreaterThan(0);
    expect(chunkPuts.filter((i) => i < heldBefore)).toEqual([]);
    expect(new Set(chunkPuts.filter((i) => i >= heldBefore)).size).toBeLessThanOrEqual(totalChunks - heldBefore + 1);

    const rows = await recordings(surveyId);
    const bucket = await stack.edge.mf.getR2Bucket('RECORDINGS');
    for (const r of rows) {
      const obj = await bucket.get(String(r.storage_key));
      const bytes = new Uint8Array(await obj!.arrayBuffer());
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(r.sha256);
    }
    const videoRow = rows.find((r) => r.kind === 'video')!;
    const notes = await stack.db.db.execute({ sql: 'SELECT user_notes, device_info_json FROM recordings WHERE session_id = ?', args: [surveyId] });
    for (const n of notes.rows) {
      expect(n.user_notes).toBe('east wing, ground floor');
      expect(JSON.parse(String(n.device_info_json))).toMatchObject({ user_agent: expect.stringContaining('Chrome') });
    }
    expect(String(videoRow.mime)).toMatch(/^video\/webm/);
    // A 5 s fake-camera video at a bounded bitrate: more than a few chunks, far from the limit.
    expect(Number(videoRow.video_size_bytes)).toBeGreaterThan(3 * CHUNK);
    const sensors = rows.find((r) => r.kind === 'sensors')!;
    const log = await (await bucket.get(String(sensors.storage_key)))!.text();
    const lines = log.trim().split('\n').map((l) => JSON.parse(l) as { t: number; type: string; lat?: number; lon?: number });
    const fixes = lines.filter((l) => l.type === 'position');
    expect(fixes.length).toBeGreaterThanOrEqual(1);
    expect(fixes[0]).toMatchObject({ lat: POSITION.latitude, lon: POSITION.longitude });
    // On the survey's clock: the log's times fall within the survey's.
    const survey = (await stack.db.db.execute({ sql: 'SELECT start_time, last_update_time FROM survey_sessions WHERE session_id = ?', args: [surveyId] })).rows[0]!;
    expect(lines[0]!.t).toBeGreaterThanOrEqual(Number(survey.start_time) - 2_000);
    expect(Number(videoRow.started_at)).toBeGreaterThanOrEqual(Number(survey.start_time) - 2_000);
    // Nothing is left in IndexedDB once the server verified it.
    expect(await page.locator('#unsent li').count()).toBe(0);
    await page.close();

    // The analyst plays the walk in the survey's detail: the video loads (about 5 s long), the charts' cursor follows it,
    // a click on a chart seeks it, and the GPS track is drawn.
    const analyst = await stack.browser.newContext({ viewport: { width: 1200, height: 1600 } });
    const console = await analyst.newPage();
    await console.goto(`${stack.edge.url}/console/surveys/${surveyId}`);
    await submitLogin(console, 'walk-analyst', 'walk-analyst-pass-1');
    await console.waitForSelector('#walk-video');
    expect(await console.locator('#walk-notes').textContent()).toContain('east wing, ground floor');
    await console.waitForFunction(() => {
      const v = document.querySelector<HTMLVideoElement>('#walk-video');
      return v !== null && v.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA && Number.isFinite(v.duration) && v.dataset.duration !== undefined;
    }, null, { timeout: 20_000 });
    const seconds = await console.evaluate(() => document.querySelector<HTMLVideoElement>('#walk-video')!.duration);
    expect(seconds).toBeGreaterThan(3);
    expect(seconds).toBeLessThan(10);
    // The mocked position never moves, so the track is one point: drawn, with its dot, and said in words.
    expect(await console.locator('#track svg circle.track-dot').count()).toBe(1);
    expect(await console.locator('#survey-media').textContent()).toMatch(/[1-9]\d* positions?;/);
    const cursor = () => console.locator('figure.chart[data-chart="rtt_p50"]').getAttribute('data-cursor-x');
    await console.evaluate(() => void document.querySelector<HTMLVideoElement>('#walk-video')!.play());
    await console.waitForFunction(() => (document.querySelector<HTMLVideoElement>('#walk-video')?.currentTime ?? 0) > 1.2, null, { timeout: 15_000 });
    const early = Number(await cursor());
    await console.waitForFunction(() => (document.querySelector<HTMLVideoElement>('#walk-video')?.currentTime ?? 0) > 2.5, null, { timeout: 15_000 });
    const later = Number(await cursor());
    expect(later).toBeGreaterThan(early);
    // On the survey clock: the cursor sits where the video's moment falls in the survey.
    const expected = await console.evaluate(
      ([startedAt, surveyStart]) => (startedAt + document.querySelector<HTMLVideoElement>('#walk-video')!.currentTime * 1000 - surveyStart) / 1000,
      [Number(videoRow.started_at), Number(survey.start_time)] as const,
    );
    expect(Math.abs(Number(await cursor()) - expected)).toBeLessThan(1);
    const pausedAt = await console.evaluate(() => {
      const v = document.querySelector<HTMLVideoElement>('#walk-video')!;
      v.pause();
      return v.currentTime;
    });
    // A click on a chart, early in the survey, seeks the video back to that moment.
    const over = console.locator('figure.chart[data-chart="rtt_p50"] .u-over');
    const box = (await over.boundingBox())!;
    await over.click({ position: { x: box.width * 0.15, y: box.height / 2 } });
    await console.waitForFunction(() => document.querySelector<HTMLVideoElement>('#walk-video')!.seeking === false);
    const seeked = await console.evaluate(() => document.querySelector<HTMLVideoElement>('#walk-video')!.currentTime);
    expect(Number(await console.locator('figure.chart[data-chart="rtt_p50"]').getAttribute('data-picked'))).toBeGreaterThan(0);
    expect(seeked).toBeLessThan(pausedAt - 0.5);
    await console.screenshot({ path: join(ARTIFACTS, 'recording-playback.png'), fullPage: true });
    await analyst.close();
  }, 180_000);
});
