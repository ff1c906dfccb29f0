import Foundation
import TraceSnapJSON
import TraceSnapLibrary

/// Builds one self-contained HTML file from the players directory and a trace, so it opens from
/// `file://` offline.
///
/// The contract with the players: `index.html` declares an import map
/// `{"imports": {"ts/": "./src/"}}` and modules import each other only by bare `ts/...`
/// specifiers. The exporter
/// - replaces the import map by one that maps every `ts/<file>.js` to a
///   `data:text/javascript;base64,...` URL;
/// - turns `<script type="module" src="./src/x.js">` into an inline `import "ts/x.js"`;
/// - inlines `<link rel="stylesheet" href="...">` as `<style>`, and drops `<link rel="modulepreload">`;
/// - embeds the trace as `<script type="application/json" id="tracesnap-inline-trace">`, with
///   every `</` written `<\/` (and `<!--` as `\u003c!--`) so it cannot end the script element.
struct HTMLExporter {
    /// The players directory (with `index.html`).
    let playersDirectory: String
    /// The id of the inline trace element.
    static let traceElementID = "tracesnap-inline-trace"

    struct ExportError: Error, CustomStringConvertible {
        var description: String
    }

    /// The exported page for `trace` (the trace document's bytes) opened on `view`.
    func export(trace: [UInt8], view: String?) throws -> String {
        let indexPath = playersDirectory + "/index.html"
        guard let indexBytes = try? FileSystem.read(indexPath) else {
            throw ExportError(description: "cannot read \(indexPath)")
        }
        var html = String(decoding: indexBytes, as: UTF8.self)
        html = html.replacingOccurrences(of: StaticFiles.tokenPlaceholder, with: "")
        let (mapPrefix, mapTarget) = importMapPrefix(in: html) ?? ("ts/", "./src/")
        let modules = try collectModules(prefix: mapPrefix, target: mapTarget)
        html = try replaceImportMap(in: html, modules: modules)
        html = rewriteModuleScripts(in: html, prefix: mapPrefix, target: mapTarget)
        html = inlineStylesheets(in: html)
        html = insertTrace(in: html, trace: trace, view: view)
        return html
    }

    // MARK: - Import map

    /// The `"ts/": "./src/"`-style prefix mapping of the page's import map.
    func importMapPrefix(in html: String) -> (String, String)? {
        guard let range = importMapRange(in: html) else { return nil }
        let inner = html[range].drop(while: { $0 != ">" }).dropFirst()
        guard let end = inner.range(of: "</script", options: .caseInsensitive) else { return nil }
        guard let data = String(inner[..<end.lowerBound]).data(using: .utf8),
            let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let imports = json["imports"] as? [String: String]
        else { return nil }
        return imports.first { $0.key.hasSuffix("/") && $0.value.hasSuffix("/") }.map { ($0.key, $0.value) }
    }

    /// The whole `<script type="importmap">…</script>` element.
    func importMapRange(in html: String) -> Range<String.Index>? {
        var search = html.startIndex..<html.endIndex
        while let open = html.range(of: "<script", options: .caseInsensitive, range: search) {
            guard let close = html.range(of: ">", range: open.upperBound..<html.endIndex) else { return nil }
            let tag = html[open.lowerBound..<close.upperBound].lowercased()
            if tag.contains("importmap") {
                guard
                    let end = html.range(
                        of: "</script>", options: .caseInsensitive, range: close.upperBound..<html.endIndex)
                else { return nil }
                return open.lowerBound..<end.upperBound
            }
            search = close.upperBound..<html.endIndex
        }
        return nil
    }

    /// Every `.js`/`.mjs` file under the mapped directory, as specifier → file path.
    func collectModules(prefix: String, target: String) throws -> [(String, String)] {
        let base = FileSystem.absolute(target, base: playersDirectory)
        var result: [(String, String)] = []
        var queue = [""]
        while !queue.isEmpty {
            let rel = queue.removeFirst()
            let dir = rel.isEmpty ? base : base + "/" + rel
            for name in FileSystem.list(dir).sorted() where !name.hasPrefix(".") {
                let childRel = rel.isEmpty ? name : rel + "/" + name
                let path = base + "/" + childRel
                switch FileSystem.kind(path) {
                case .directory: queue.append(childRel)
                case .file where name.hasSuffix(".js") || name.hasSuffix(".mjs"):
                    result.append((prefix + childRel, path))
                default: break
                }
            }
        }
        return result
    }

    func replaceImportMap(in html: String, modules: [(String, String)]) throws -> String {
        var imports: [String] = []
        for (specifier, path) in modules {
            let bytes = try FileSystem.read(path)
            let url = "data:text/javascript;base64," + Data(bytes).base64EncodedString()
            imports.append("\(jsonString(specifier)): \(jsonString(url))")
        }
        let map = "<script type=\"importmap\">{\"imports\": {\n" + imports.joined(separator: ",\n") + "\n}}</script>"
        var out = html
        if let range = importMapRange(in: html) {
            out.replaceSubrange(range, with: map)
        } else if let head = out.range(of: "</head>", options: .caseInsensitive) {
            out.insert(contentsOf: map + "\n", at: head.lowerBound)
        } else {
            out = map + "\n" + out
        }
        return out
    }

    /// `<script type="module" src="./src/x.js"></script>` → `<script type="module">import "ts/x.js";</script>`.
    func rewriteModuleScripts(in html: String, prefix: String, target: String) -> String {
        var out = ""
        var rest = Substring(html)
        let normalizedTarget = target.hasPrefix("./") ? String(target.dropFirst(2)) : target
        while let open = rest.range(of: "<script", options: .caseInsensitive) {
            guard let close = rest.range(of: ">", range: open.upperBound..<rest.endIndex) else { break }
            let tag = String(rest[open.lowerBound..<close.upperBound])
            out += rest[..<open.lowerBound]
            if tag.lowercased().contains("module"), let src = attribute("src", in: tag),
                let end = rest.range(
                    of: "</script>", options: .caseInsensitive, range: close.upperBound..<rest.endIndex)
            {
                var file = src.hasPrefix("./") ? String(src.dropFirst(2)) : src
                if file.hasPrefix("/") { file.removeFirst() }
                let specifier =
                    file.hasPrefix(normalizedTarget) ? prefix + file.dropFirst(normalizedTarget.count) : file
                out += "<script type=\"module\">import \(jsonString(String(specifier)));</script>"
                rest = rest[end.upperBound...]
            } else {
                out += tag
                rest = rest[close.upperBound...]
            }
        }
        return out + rest
    }

    /// `<link rel="stylesheet" href="x.css">` → `<style>…</style>`.
    func inlineStylesheets(in html: String) -> String {
        var out = ""
        var rest = Substring(html)
        while let open = rest.range(of: "<link", options: .caseInsensitive) {
            guard let close = rest.range(of: ">", range: open.upperBound..<rest.endIndex) else { break }
            let tag = String(rest[open.lowerBound..<close.upperBound])
            out += rest[..<open.lowerBound]
            rest = rest[close.upperBound...]
            if attribute("rel", in: tag)?.lowercased() == "modulepreload" {
                continue  // the modules are inlined in the import map
            }
            if attribute("rel", in: tag)?.lowercased() == "stylesheet", let href = attribute("href", in: tag),
                !href.contains("://"), let path = StaticFiles.resolve(href, root: playersDirectory),
                let css = try? FileSystem.readText(path)
            {
                out += "<style>\n" + css.replacingOccurrences(of: "</style", with: "<\\/style") + "\n</style>"
            } else {
                out += tag
            }
        }
        return out + rest
    }

    func insertTrace(in html: String, trace: [UInt8], view: String?) -> String {
        let text = Self.scriptSafeJSON(trace)
        var element = "<script type=\"application/json\" id=\"\(Self.traceElementID)\">" + text + "</script>\n"
        if let view {
            element +=
                "<script>if(!new URLSearchParams(location.search).has('view')){history.replaceState(null,'',"
                + "location.pathname+'?view=\(view)'+location.hash)}</script>\n"
        }
        var out = html
        if let head = out.range(of: "</head>", options: .caseInsensitive) {
            out.insert(contentsOf: element, at: head.lowerBound)
        } else if let body = out.range(of: "</body>", options: .caseInsensitive) {
            out.insert(contentsOf: element, at: body.lowerBound)
        } else {
            out += element
        }
        return out
    }

    /// JSON text that cannot end or confuse the `<script>` element holding it: every `</` is
    /// written `<\/`, and a `<` that starts `<!--` or `<script` is written `\u003c`. Both are
    /// valid only inside JSON strings, where they decode to the same text.
    static func scriptSafeJSON(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 64)
        let script = Array("script".utf8)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            guard b == UInt8(ascii: "<") else {
                out.append(b)
                i += 1
                continue
            }
            let next = i + 1 < bytes.count ? bytes[i + 1] : 0
            if next == UInt8(ascii: "/") {
                out += Array("<\\/".utf8)
                i += 2
                continue
            }
            let comment =
                i + 3 < bytes.count && next == UInt8(ascii: "!") && bytes[i + 2] == UInt8(ascii: "-")
                && bytes[i + 3] == UInt8(ascii: "-")
            let opensScript = (0..<6).allSatisfy { k in
                i + 1 + k < bytes.count && (bytes[i + 1 + k] | 0x20) == script[k]
            }
            if comment || opensScript {
                out += Array("\\u003c".utf8)
            } else {
                out.append(b)
            }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The value of `name="…"` (or `'…'`, or bare) in a tag.
    func attribute(_ name: String, in tag: String) -> String? {
        let lower = tag.lowercased()
        var search = lower.startIndex..<lower.endIndex
        while let found = lower.range(of: name, range: search) {
            search = found.upperBound..<lower.endIndex
            if found.lowerBound > lower.startIndex {
                let before = lower[lower.index(before: found.lowerBound)]
                guard before == " " || before == "\t" || before == "\n" else { continue }
            }
            var i = found.upperBound
            while i < lower.endIndex, lower[i] == " " { i = lower.index(after: i) }
            guard i < lower.endIndex, lower[i] == "=" else { continue }
            i = lower.index(after: i)
            while i < lower.endIndex, lower[i] == " " { i = lower.index(after: i) }
            guard i < lower.endIndex else { return nil }
            let quote = lower[i]
            if quote == "\"" || quote == "'" {
                let start = tag.index(after: i)
                guard let end = tag[start...].firstIndex(of: quote) else { return nil }
                return String(tag[start..<end])
            }
            let end = tag[i...].firstIndex(where: { $0 == " " || $0 == ">" || $0 == "/" }) ?? tag.endIndex
            return String(tag[i..<end])
        }
        return nil
    }

    func jsonString(_ text: String) -> String {
        var writer = TraceSnapJSONWriterShim()
        return writer.quote(text)
    }
}

/// Quotes a string as JSON with the shared writer.
struct TraceSnapJSONWriterShim {
    mutating func quote(_ text: String) -> String {
        let writer = JSONWriter()
        writer.string(text)
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}
