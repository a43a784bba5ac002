// The walk's video in step with the charts and the track: while it plays, the charts' cursor and the track's
// dot follow it; a click on a chart seeks it. Times meet on the survey clock (ms since epoch).
import { h } from '../dom.js';
import type { Recording } from './survey-schemas.js';

export interface Playback {
  element: HTMLElement;
  video: HTMLVideoElement;
  /** Seeks to a moment of the survey clock (clamped to the video). */
  seekTo(atMs: number): void;
}

/**
 * A video player for `rec`; `onTime` hears the survey-clock moment shown, as it plays or seeks.
 * MediaRecorder's WebM files carry no duration; seeking far past the end once makes the browser find it.
 */
export function createPlayback(rec: Recording, onTime: (atMs: number) => void): Playback {
  const video = h('video', { id: 'walk-video', controls: true, preload: 'auto', playsinline: true, src: `/api/recordings/${rec.recording_id}/content` });
  const startedAt = rec.started_at ?? 0;
  let probing = false;
  video.addEventListener('loadedmetadata', () => {
    if (Number.isFinite(video.duration)) return;
    probing = true;
    video.currentTime = 1e7;
  });
  video.addEventListener('durationchange', () => {
    if (probing && Number.isFinite(video.duration)) {
      probing = false;
      video.currentTime = 0;
      video.dataset.duration = video.duration.toFixed(2);
    }
  });
  video.addEventListener('loadeddata', () => {
    if (Number.isFinite(video.duration)) video.dataset.duration = video.duration.toFixed(2);
  });
  const report = () => {
    if (!probing) onTime(startedAt + video.currentTime * 1000);
  };
  video.addEventListener('timeupdate', report);
  video.addEventListener('seeked', report);
  // Smoother than timeupdate's 4 Hz where the browser has it.
  const frames = (video as HTMLVideoElement & { requestVideoFrameCallback?: (cb: () => void) => number }).requestVideoFrameCallback?.bind(video);
  if (frames) {
    const each = () => {
      report();
      frames(each);
    };
    frames(each);
  }
  const element = h(
    'figure',
    { class: 'playback' },
    video,
    h('figcaption', { class: 'muted' }, 'The charts\' cursor and the track\'s dot follow the video; click a chart to jump to that moment.'),
  );
  return {
    element,
    video,
    seekTo(atMs) {
      const t = (atMs - startedAt) / 1000;
      const end = Number.isFinite(video.duration) ? video.duration : t;
      video.currentTime = Math.max(0, Math.min(end, t));
    },
  };
}
