/** Placeholder. */
import { h } from "ts/dom.js";
export function createGraphView(p) { return { el: h("div", { class: "view", text: "callgraph" }), update() {} }; }
