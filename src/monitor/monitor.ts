// The live dashboard (SPEC §10): follows the event log and the index, asks the daemon once a second,
// and redraws only what changed. Runs until q, Ctrl-C, SIGTERM or SIGHUP, and always gives the
// terminal back.

import { paintFor } from "../cli/colour";
import type { Settings } from "../config/settings";
import { daemonStatus } from "../daemon/control";
import { ownEpoch } from "../ipc/daemon-paths";
import { describeError } from "../util/errors";
import { Activity } from "./activity";
import { DaemonPoll } from "./daemon-poll";
import { EventTail } from "./event-tail";
import { bodyHeight, renderFrame } from "./frame";
import { headerParts } from "./header";
import { parseKeys } from "./keys";
import { applyKey, BUILD_TAB, initialState, PROJECTS_TAB, STORE_TAB, TRANSFER_TAB } from "./monitor-state";
import { Projects } from "./projects";
import { StoreView } from "./store-view";
import type { TabContent } from "./table-rows";
import { buildTab } from "./tabs/build-tab";
import { passthroughTab } from "./tabs/passthrough-tab";
import { projectsTab } from "./tabs/projects-tab";
import { storeTab } from "./tabs/store-tab";
import { transferTab } from "./tabs/transfer-tab";
import { Terminal } from "./terminal";
import { type TransferFacts, transferPoll, transfersInFlight } from "./transfer-view";
import { type WrapperState, wrapperState } from "./wrapper-line";

/** New events show this soon; the rest (index, daemon, wrapper) once a second. */
const TAIL_EVERY_MS = 250;
const REFRESH_EVERY_MS = 1000;
const WRAPPER_EVERY_MS = 15_000;
const NO_TRANSFERS: TransferFacts = { daemon: null, queued: 0 };

export async function runMonitor(settings: Settings, since: number | null): Promise<void> {
  const terminal = new Terminal();
  const styles = paintFor(process.stdout);
  const epoch = ownEpoch();
  const activity = new Activity(since);
  const tail = new EventTail(settings.cacheDir);
  const store = new StoreView(settings.cacheDir, settings.maxSize);
  const daemon = new DaemonPoll(() => daemonStatus(settings));
  const transfers = transferPoll(settings);
  const projects = new Projects(settings.cacheDir);
  const state = initialState();
  let wrapper: WrapperState = wrapperState();
  let wrapperAt = Date.now();
  let problem: string | null = null;
  let shownGeneration = -1;

  const content = (now: number): TabContent => {
    const filter = state.filters[state.tab]!;
    const view = { styles, now, width: terminal.size().columns };
    switch (state.tab) {
      case BUILD_TAB:
        return buildTab(activity, filter, view);
      case PROJECTS_TAB:
        return projectsTab(projects.list(activity.outDirs), projects.scanning, view);
      case STORE_TAB:
        return storeTab(store, state.sort, filter, view);
      case TRANSFER_TAB:
        return transferTab(transfers.value ?? NO_TRANSFERS, activity.remoteHits.newestFirst(), view);
      default:
        return passthroughTab(activity, view);
    }
  };

  let current: TabContent | null = null;
  const draw = () => {
    const now = Date.now();
    current = content(now);
    const header = headerParts(
      {
        cacheDir: settings.cacheDir,
        ownEpoch: epoch,
        daemon: daemon.value,
        daemonAsked: daemon.asked,
        activity: activity.figures(),
        store: store.figures,
        wrapper,
        transfers: {
          uploading: transfersInFlight(transfers.value, "upload"),
          downloading: transfersInFlight(transfers.value, "download"),
          queued: transfers.value?.queued ?? 0,
        },
        problem,
      },
      styles,
    );
    const size = terminal.size();
    terminal.draw(
      renderFrame({
        size,
        header,
        tab: state.tab,
        content: current,
        scroll: state.scroll[state.tab]!,
        editing: state.editing,
        help: state.help,
        styles,
      }),
    );
    shownGeneration = activity.generation;
  };
  // The daemon's two answers and a refresh often land together: one frame for all of them.
  let drawQueued = false;
  const requestDraw = () => {
    if (drawQueued) return;
    drawQueued = true;
    setTimeout(() => {
      drawQueued = false;
      draw();
    }, 0);
  };

  const rescan = () => {
    projects.scanning = true;
    draw();
    setTimeout(() => {
      projects.scan(activity.outDirs);
      projects.scanning = false;
      draw();
    }, 0);
  };

  const refresh = () => {
    try {
      store.refresh(state.tab === STORE_TAB);
      problem = null;
    } catch (error) {
      problem = `cannot read the index: ${describeError(error)}`;
    }
    if (Date.now() - wrapperAt > WRAPPER_EVERY_MS) {
      wrapper = wrapperState();
      wrapperAt = Date.now();
    }
    daemon.poll(requestDraw);
    transfers.poll(requestDraw);
    requestDraw();
  };

  const add = activity.add.bind(activity);
  tail.start(add);
  const done = Promise.withResolvers<number>();
  const quit = (code: number) => done.resolve(code);
  const onKeys = (text: string) => {
    for (const key of parseKeys(text)) {
      const before = state.tab;
      const effect = applyKey(state, key, bodyHeight(terminal.size()), current?.rows.length ?? 0);
      if (effect === "quit") return quit(0);
      if (effect === "clear-build") activity.recent.clear();
      if (effect === "redraw") terminal.redrawAll();
      if (
        effect === "rescan" ||
        (state.tab === PROJECTS_TAB && before !== PROJECTS_TAB && !projects.scannedAt)
      )
        rescan();
    }
    draw();
  };

  terminal.enter(onKeys, draw, () => quit(0));
  refresh();
  const tailTimer = setInterval(() => {
    tail.poll(add);
    if (activity.generation !== shownGeneration) draw();
  }, TAIL_EVERY_MS);
  const refreshTimer = setInterval(refresh, REFRESH_EVERY_MS);
  const code = await done.promise;
  clearInterval(tailTimer);
  clearInterval(refreshTimer);
  tail.close();
  store.close();
  terminal.restore();
  process.exit(code);
}
