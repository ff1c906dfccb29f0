/** Placeholder. */
import { h } from "ts/dom.js";
export function createHomeView(p) { return { el: h("div", { class: "view", text: "home" }), update() {} }; }
