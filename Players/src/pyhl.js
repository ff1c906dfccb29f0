/**
 * A tiny Python syntax highlighter: splits one source line into
 * [className, text] tokens (keywords, builtins, strings, numbers, comments,
 * decorators, function names). Tokens are rendered with textContent.
 * Multi-line strings are tracked across lines with a small state object.
 */
const KW = new Set("False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield match case".split(" "));
const BUILTIN = new Set("print len range enumerate zip map filter sum min max abs int str float list dict set tuple bool isinstance type open sorted reversed any all iter next super object repr round hasattr getattr setattr input ValueError TypeError KeyError IndexError Exception RuntimeError ZeroDivisionError StopIteration self cls".split(" "));

const TOKEN = /(#.*$)|([rRbBuUfF]{0,2}(?:"""|'''|"(?:\\.|[^"\\])*"?|'(?:\\.|[^'\\])*'?))|(@[\w.]+)|(\b\d[\d_]*(?:\.\d*)?(?:[eE][+-]?\d+)?j?\b|\b0[xXoObB][\da-fA-F_]+\b)|([A-Za-z_]\w*)|(\s+)|(.)/g;

/**
 * Tokenize a line.
 * @param {string} line
 * @param {{inString: string|null}} state carries an open triple-quoted string
 * @returns {Array<[string, string]>}
 */
export function tokenize(line, state) {
  const out = [];
  let rest = line;
  if (state.inString) {
    const end = rest.indexOf(state.inString);
    if (end < 0) return [["str", rest]];
    out.push(["str", rest.slice(0, end + 3)]);
    rest = rest.slice(end + 3);
    state.inString = null;
  }
  TOKEN.lastIndex = 0;
  let m;
  let prevWord = "";
  while ((m = TOKEN.exec(rest)) !== null) {
    const [all, com, str, deco, num, word] = m;
    if (com) out.push(["com", com]);
    else if (str) {
      const q = str.replace(/^[rRbBuUfF]+/, "");
      if (q === '"""' || q === "'''") {
        const after = rest.slice(TOKEN.lastIndex);
        const end = after.indexOf(q);
        if (end < 0) { out.push(["str", str + after]); state.inString = q; return out; }
        out.push(["str", str + after.slice(0, end + 3)]);
        TOKEN.lastIndex += end + 3;
      } else out.push(["str", str]);
    } else if (deco) out.push(["deco", deco]);
    else if (num) out.push(["num", num]);
    else if (word) {
      if (KW.has(word)) out.push(["kw", word]);
      else if (prevWord === "def" || prevWord === "class") out.push(["def", word]);
      else if (BUILTIN.has(word)) out.push(["bi", word]);
      else out.push(["", word]);
      prevWord = word;
      continue;
    } else out.push(["", all]);
    if (!/^\s+$/.test(all)) prevWord = "";
  }
  return out;
}
