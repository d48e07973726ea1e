// What the user has chosen on the monitor's screen (tab, scroll, filters, sort, the keys shown) and
// how each key changes it.

import { TAB_NAMES } from "./frame";
import { STORE_SORTS, type StoreSort } from "./store-view";

export const BUILD_TAB = 0;
export const PROJECTS_TAB = 1;
export const STORE_TAB = 2;
export const TRANSFER_TAB = 3;
const FILTERED_TABS = new Set([BUILD_TAB, STORE_TAB]);

export interface MonitorState {
  tab: number;
  scroll: number[];
  filters: string[];
  /** The filter being typed on the current tab, or null. */
  editing: string | null;
  help: boolean;
  sort: StoreSort;
}

export function initialState(): MonitorState {
  return {
    tab: BUILD_TAB,
    scroll: TAB_NAMES.map(() => 0),
    filters: TAB_NAMES.map(() => ""),
    editing: null,
    help: false,
    sort: "name",
  };
}

/** What a key asks of the app beyond a change of state. */
export type KeyEffect = "quit" | "clear-build" | "rescan" | "redraw" | null;

function typeFilter(state: MonitorState, key: string): void {
  const draft = state.editing ?? "";
  if (key === "enter") state.editing = null;
  else if (key === "escape") {
    state.editing = null;
    state.filters[state.tab] = "";
  } else if (key === "backspace") state.editing = draft.slice(0, -1);
  else if ([...key].length === 1) state.editing = draft + key;
  if (state.editing !== null) state.filters[state.tab] = state.editing;
  state.scroll[state.tab] = 0;
}

function scroll(state: MonitorState, key: string, page: number, rows: number): boolean {
  const steps: Record<string, number> = { up: -1, down: 1, pageup: -page, pagedown: page };
  const current = Math.min(state.scroll[state.tab]!, Math.max(0, rows - page));
  if (key === "home") state.scroll[state.tab] = 0;
  else if (key === "end") state.scroll[state.tab] = Math.max(0, rows - page);
  else if (steps[key] !== undefined)
    state.scroll[state.tab] = Math.max(0, Math.min(current + steps[key]!, Math.max(0, rows - page)));
  else return false;
  return true;
}

/** Applies one key; `page` is the body's height and `rows` the current tab's row count. */
export function applyKey(state: MonitorState, key: string, page: number, rows: number): KeyEffect {
  if (key === "ctrl-c") return "quit";
  if (state.editing !== null) {
    typeFilter(state, key);
    return null;
  }
  if (key === "q") return "quit";
  if (key === "ctrl-l") return "redraw";
  if (key === "?") {
    state.help = !state.help;
    return null;
  }
  state.help = false;
  const tabs = TAB_NAMES.length;
  if (key === "tab") state.tab = (state.tab + 1) % tabs;
  else if (key === "backtab") state.tab = (state.tab + tabs - 1) % tabs;
  else if (/^[1-5]$/.test(key)) state.tab = Number(key) - 1;
  else if (key === "f" && FILTERED_TABS.has(state.tab)) state.editing = state.filters[state.tab]!;
  else if (key === "c" && state.tab === BUILD_TAB) {
    state.scroll[BUILD_TAB] = 0;
    return "clear-build";
  } else if (key === "s" && state.tab === STORE_TAB)
    state.sort = STORE_SORTS[(STORE_SORTS.indexOf(state.sort) + 1) % STORE_SORTS.length]!;
  else if (key === "r" && state.tab === PROJECTS_TAB) return "rescan";
  else scroll(state, key, page, rows);
  return null;
}
