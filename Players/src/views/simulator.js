/** Placeholder. */
import { h } from "ts/dom.js";
export function createSimulatorView(p) { return { el: h("div", { class: "view", text: "simulator" }), update() {} }; }
