// GET /api/surveys/{id}'s answer in one read batch: the survey's item under the viewer's access, and beside it the
// parts of its detail, each a few statements that read rows only while that access holds (a survey one may not see
// costs no reads of its rows) and a reader of their results. A further part is one more entry in detailParts.
import type { InStatement, ResultSet } from '../../shared/db/client.js';
import { surveyStoredCapturesFrom, surveyStoredCapturesStatement } from '../../shared/db/capture-store.js';
import { surveyPathTracesFrom, surveyPathTraceStatements } from '../../shared/db/path-traces.js';
import { surveyConnectionsFrom, surveyConnectionsStatement } from '../../shared/db/survey-connections.js';
import { surveyPathSplitFrom, surveyPathSplitStatements } from '../../shared/db/survey-path-split.js';
import { surveyRecordingsFrom, surveyRecordingsStatement } from '../../shared/db/recordings.js';
import { surveyItemFrom, surveyItemStatement, type SqlCondition, type SurveyItem } from '../../shared/db/survey-list.js';
import type { SketchMerge } from '../../shared/db/survey-sketches.js';
import { firstSketchPage, surveySummariesFrom, surveySummarySketches, surveySummaryStatements } from '../../shared/db/survey-summary-sql.js';
import type { GrantsSql } from '../../shared/db/viewer-grants.js';
import { HttpError } from '../errors.js';
import { recordingView } from '../recordings/recording-routes.js';
import { surveyVisibleGate, visibleSurveyConditions } from './survey-access.js';

/** Statements of one part of the detail and how their results (in order), with the survey's merged sketches, make its value. */
interface DetailPart<T> {
  statements: InStatement[];
  read(results: readonly ResultSet[], sketches: SketchMerge): T;
}

const part = <T>(statements: InStatement[], read: (results: readonly ResultSet[], sketches: SketchMerge) => T): DetailPart<T> => ({ statements, read });

/** The detail's parts beside the item, by their answer field, each reading only while `gate` holds. The summaries come first (detailSketchPage). */
function detailParts(id: string, gate: SqlCondition) {
  return {
    // Per-connection summaries, computed in SQL (a few rows per connection whatever the survey's length), with the
    // percentiles merged from the seconds' sketches (the first SKETCH_PAGE_ROWS in this batch).
    summaries: part(surveySummaryStatements(id, gate), surveySummariesFrom),
    // The complete recordings (as GET /api/recordings/{id}), the stored captures, the relay's path traces.
    recordings: part([surveyRecordingsStatement(id, gate)], ([rs]) => surveyRecordingsFrom(rs!).map(recordingView)),
    captures: part([surveyStoredCapturesStatement(id, gate)], ([rs]) =>
      surveyStoredCapturesFrom(rs!).map((x) => ({ conn_id: x.conn_id, peer_id: x.peer_id, bytes: x.bytes, sha256: x.sha256, stored_at: x.stored_at })),
    ),
    path_traces: part(surveyPathTraceStatements(id, gate), surveyPathTracesFrom),
    // Families × paths (issue 22): each connection's family, path and address pair, and the survey split per family and per path.
    connection_paths: part([surveyConnectionsStatement(id, gate)], ([rs]) => surveyConnectionsFrom(rs!)),
    // Its percentiles from the same merged sketches as the summaries' (none read twice), grouped per path and family.
    path_split: part(surveyPathSplitStatements(id, gate), surveyPathSplitFrom),
  };
}

type Parts = ReturnType<typeof detailParts>;
export type SurveyDetail = SurveyItem & { [K in keyof Parts]: Parts[K] extends DetailPart<infer T> ? T : never };

/** The statements of survey `id`'s detail as the grants see it, for one batch (read their results with surveyDetailFrom). */
export function surveyDetailStatements(g: GrantsSql, id: string, includeDeleted: boolean): InStatement[] {
  const parts = Object.values(detailParts(id, surveyVisibleGate(g, id, includeDeleted))) as DetailPart<unknown>[];
  return [surveyItemStatement(id, visibleSurveyConditions(g, includeDeleted)), ...parts.flatMap((p) => p.statements)];
}

/**
 * The first page of sketches among the results of surveyDetailStatements (the summaries come right after the item).
 * Full only for a survey of SKETCH_PAGE_ROWS (1,000) or more measured seconds with sketches — both directions of
 * all its connections, e.g. over 8 minutes of one connection — whose further pages continueSketchPages reads, one
 * round trip each; empty for a survey the viewer may not see.
 */
export const detailSketchPage = (results: readonly ResultSet[]): ResultSet => firstSketchPage(results.slice(1));

/**
 * The detail the results of surveyDetailStatements hold: the list item unchanged (PROTOCOL.md: "one item as
 * above plus ...") with its parts; 404 not_found when the grants do not see the survey, as for none at all.
 * `moreSketchPages`: the pages after detailSketchPage's, for a long survey.
 */
export function surveyDetailFrom(results: readonly ResultSet[], id: string, moreSketchPages: readonly ResultSet[] = []): SurveyDetail {
  const item = surveyItemFrom(results[0]);
  if (!item) throw new HttpError('not_found', `no survey ${id}`);
  const detail: Record<string, unknown> = { ...item };
  const sketches = surveySummarySketches(results.slice(1), moreSketchPages);
  let at = 1;
  // The gate is not read again here: the statements only shape the results, so any condition does for counting them.
  for (const [field, p] of Object.entries(detailParts(id, { sql: '1', args: [] })) as [string, DetailPart<unknown>][]) {
    detail[field] = p.read(results.slice(at, at + p.statements.length), sketches);
    at += p.statements.length;
  }
  // Each field is its part's own reader's value (Parts' types, by construction).
  return detail as unknown as SurveyDetail;
}
