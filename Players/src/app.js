/**
 * Entry point: builds the shell, the player and the views, applies the URL
 * and handles Back/Forward. Exposes a small read-only hook for tests
 * (window.__tracesnap).
 */
import { createShell } from "ts/shell.js";
import { Player } from "ts/player.js";
import { installKeys } from "ts/keys.js";
import { watchTheme } from "ts/theme.js";
import { closeOverlays } from "ts/overlays.js";
import { createTextView } from "ts/views/text.js";
import { createSimulatorView } from "ts/views/simulator.js";
import { createGraphView } from "ts/views/callgraph.js";
import { createEventsView } from "ts/views/events.js";
import { createHomeView } from "ts/views/home.js";
import { createRecordView } from "ts/views/record.js";
import { loadTrace } from "ts/load.js";

watchTheme();
const shell = createShell(document.getElementById("app"));
const player = new Player({
  shell,
  factories: {
    text: createTextView,
    simulator: createSimulatorView,
    graph: createGraphView,
    events: createEventsView,
    home: createHomeView,
    record: createRecordView,
  },
});
shell.attach(player);
let tabTimer = 0;
player.listeners.add(() => { clearTimeout(tabTimer); tabTimer = setTimeout(() => shell.stepChanged(player), 200); });
installKeys(player);
addEventListener("popstate", () => { closeOverlays(); player.applyRoute(); });

/** Test and debugging hook (read-only view of the player state). */
window.__tracesnap = {
  get ready() { return player.ready; },
  get step() { return player.step; },
  get view() { return player.view; },
  get events() { return player.ix ? player.ix.n : 0; },
  get loadMs() { return player.loadMs ?? null; },
  get readyAt() { return player.readyAt ?? null; },
  /** the whole trace is indexed (a big one renders first, then streams in the rest) */
  get complete() { return !!(player.ready && player.ix && player.complete); },
  get firstRenderAt() { return player.firstRenderAt ?? null; },
  get completeAt() { return player.completeAt ?? null; },
  get loadStats() { return loadTrace.lastStats ?? null; },
  get lastRenderMs() { return player.lastRenderMs; },
  go: (s) => player.go(s, { push: true }),
};
player.applyRoute();
