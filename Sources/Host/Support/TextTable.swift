/// Plain-text tables whose columns stay aligned for any Unicode: widths are terminal cells, not
/// characters (CJK and emoji take two cells, combining marks none), and control characters are
/// shown escaped so a name cannot break a row or send terminal escapes.
struct TextTable {
    enum Alignment { case left, right }

    var headers: [String]
    var alignments: [Alignment]
    var rows: [[String]] = []
    /// Cells wider than this are cut with `…`.
    var maxColumnWidth = 60

    /// Renders the table, two spaces between columns, no trailing spaces.
    func render() -> [String] {
        let cells = ([headers] + rows).map { row in row.map { Self.fit(Self.visible($0), maxColumnWidth) } }
        var widths = [Int](repeating: 0, count: headers.count)
        for row in cells {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], Self.width(cell)) }
        }
        return cells.map { row in
            var line = ""
            for (i, cell) in row.enumerated() {
                let pad = String(repeating: " ", count: widths[i] - Self.width(cell))
                let isLast = i == row.count - 1
                switch alignments[i] {
                case .left: line += cell + (isLast ? "" : pad)
                case .right: line += pad + cell
                }
                if !isLast { line += "  " }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }
    }

    /// `text` with control characters escaped (`\n`, `\t`, `\u{1b}`).
    static func visible(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                    out += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// Terminal cells taken by one scalar.
    static func width(of scalar: Unicode.Scalar) -> Int {
        let v = scalar.value
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if v == 0x200D || (0xFE00...0xFE0F).contains(v) || (0xE0100...0xE01EF).contains(v) { return 0 }
        if scalar.properties.isEmojiPresentation { return 2 }
        let wide: [ClosedRange<UInt32>] = [
            0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
            0xA000...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60,
            0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x2FFFD, 0x30000...0x3FFFD,
        ]
        return wide.contains { $0.contains(v) } ? 2 : 1
    }

    /// Terminal cells taken by `text`: per grapheme cluster, the widest of its scalars (so an
    /// emoji ZWJ sequence or a flag counts as one wide glyph).
    static func width(_ text: String) -> Int {
        text.reduce(0) { total, character in
            total + (character.unicodeScalars.map { width(of: $0) }.max() ?? 0)
        }
    }

    /// `text` cut to at most `limit` cells, ending in `…` when cut.
    static func fit(_ text: String, _ limit: Int) -> String {
        guard width(text) > limit else { return text }
        var out = ""
        var used = 0
        for character in text {
            let w = width(String(character))
            if used + w > limit - 1 { break }
            out.append(character)
            used += w
        }
        return out + "…"
    }
}
