/** Placeholder. */
import { h } from "ts/dom.js";
export function createRecordView(p) { return { el: h("div", { class: "view", text: "record" }), update() {} }; }
