/** Placeholder. */
import { h } from "ts/dom.js";
export function createEventsView(p) { return { el: h("div", { class: "view", text: "events" }), update() {} }; }
