// Gathers what `stats` and `report` show: the settings, the events of a span, the index and the transfers.
import type { Settings } from "../config/settings";
import { settingsOrExit } from "./cli-settings";
import {
  type ActivityFigures,
  activityFigures,
  type LanguageFigures,
  languageFigures,
} from "./event-summary";
import { type HistoryEvent, readHistory } from "./history";
import { type IndexContents, readIndex, type StoreFigures, storeFigures } from "./store-summary";
import { type TransferFigures, transferFigures } from "./transfer-summary";

/** Bump when a field of the JSON documents changes meaning or goes away (adding one needs no bump). */
export const INSIGHT_SCHEMA_VERSION = 1;

export interface Insight {
  settings: Settings;
  /** The cut-off of `--since` in ms, or null for every event. */
  since: number | null;
  events: HistoryEvent[];
  activity: ActivityFigures;
  /** The same figures for Rust, C and C++ apart. */
  languages: LanguageFigures;
  index: IndexContents;
  store: StoreFigures;
  transfers: TransferFigures;
}

export async function gatherInsight(since: number | null): Promise<Insight> {
  const settings = settingsOrExit();
  const events = readHistory(settings.cacheDir, since);
  const activity = activityFigures(events);
  const index = readIndex(settings.cacheDir);
  return {
    settings,
    since,
    events,
    activity,
    languages: languageFigures(events),
    index,
    store: storeFigures(settings.cacheDir, settings.maxSize, index),
    transfers: await transferFigures(settings, activity),
  };
}

/** Whether any C/C++ call was recorded: texts show per-language lines only then. */
export function hasNativeCalls(insight: Insight): boolean {
  return insight.languages.c.events.count + insight.languages["c++"].events.count > 0;
}

/** The fields every insight JSON document starts with. */
export function documentHead(settings: Settings) {
  return {
    schema_version: INSIGHT_SCHEMA_VERSION,
    generated_at: new Date().toISOString(),
    cache_dir: settings.cacheDir,
  };
}

/** The span a document covers: the `--since` cut-off, or null for every event kept. */
export function sinceField(insight: Insight): string | null {
  return insight.since === null ? null : new Date(insight.since).toISOString();
}
